/*
 * hash.c - stable 64-bit hashing and fixed-width hex (hash.h).
 */
#include "hash.h"

#include <string.h>

uint64_t ds_mix64(uint64_t h, uint64_t v)
{
	h ^= v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
	h ^= h >> 30;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 27;
	h *= UINT64_C(0x94d049bb133111eb);
	h ^= h >> 31;
	return h;
}

uint64_t ds_hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t w;

	h = ds_mix64(h, n);
	while (n >= 8) {
		memcpy(&w, b, 8);
		h = ds_mix64(h, w);
		b += 8;
		n -= 8;
	}
	if (n) {
		w = 0;
		memcpy(&w, b, n);
		h = ds_mix64(h, w);
	}
	return h;
}

const char *ds_hex16(uint64_t v, char out[17])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 15; i >= 0; i--) {
		out[i] = digits[v & 15];
		v >>= 4;
	}
	out[16] = '\0';
	return out;
}

bool ds_hex_parse(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 16)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}
