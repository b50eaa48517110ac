// std::random_device with the default token (RDSEED/RDRAND on x86-64:
// never reaches libc) and with an explicit /dev/urandom token.
#include <cstdio>
#include <random>

int main()
{
	std::random_device rd;
	std::random_device ur("/dev/urandom");
	unsigned a = rd(), b = rd(), c = ur(), d = ur();
	std::printf("default %u %u urandom %u %u entropy %.1f\n", a, b, c, d,
		    rd.entropy());
	std::mt19937 gen(rd());
	std::printf("mt19937 %u\n", static_cast<unsigned>(gen()));
	return 0;
}
