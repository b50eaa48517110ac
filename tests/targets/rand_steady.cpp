// C++ seeding from std::chrono (issue 16): steady_clock reaches libc's
// clock_gettime(CLOCK_MONOTONIC), whose value the shim remembers, and the
// seed reaches libc through std::srand; the std::mt19937 seeded from
// std::rand() then gives the same numbers in every run of one seed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

int main()
{
	auto ns = std::chrono::steady_clock::now().time_since_epoch().count();
	std::srand(static_cast<unsigned>(ns));
	std::mt19937 gen(static_cast<unsigned>(std::rand()));
	auto us = std::chrono::duration_cast<std::chrono::microseconds>(
			  std::chrono::system_clock::now().time_since_epoch())
			  .count();
	std::srand(static_cast<unsigned>(us));
	std::mt19937_64 gen2(static_cast<unsigned>(std::rand()));
	std::printf("mt19937 %u %u mt19937_64 %llu\n", (unsigned)gen(),
		    (unsigned)gen(), (unsigned long long)gen2());
	return 0;
}
