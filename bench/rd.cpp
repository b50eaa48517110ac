// rd.cpp - ns per std::random_device call (see micro.c).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

int main()
{
	std::random_device rd;
	volatile unsigned sink = 0;
	double r[7];
	for (double &x : r) {
		auto t0 = std::chrono::steady_clock::now();
		for (int i = 0; i < 200000; i++)
			sink = sink + rd();
		x = std::chrono::duration<double, std::nano>(
			    std::chrono::steady_clock::now() - t0).count() / 200000;
	}
	std::sort(r, r + 7);
	std::printf("%-26s %10.1f\n", "std::random_device", r[3]);
	return 0;
}
