/* src/chunk/sha512x8.c — SHA-512/256 of up to eight messages at once, with AVX-512 */
#include <immintrin.h>
#include <string.h>
#include "chunk/sha512x8.h"
#include "util/banned.h"

/*
 * Written from FIPS 180-4: each 64-bit lane of a 512-bit register holds
 * the same word of another message's state, so one instruction does a step
 * for eight messages.  Chunks are hashed by the thousand, and SHA-512 has
 * no instruction of its own on most x86 CPUs: OpenSSL's one-message code
 * runs at about 600 MB/s here.  Lanes whose message ends take the next.
 */

#define LANES 8
#define BLOCK 128
#define TARGET __attribute__((target("avx512f,avx512bw")))

/* First 64 bits of the fractional parts of the cube roots of the first 80 primes. */
static const uint64_t K[80] = {
	UINT64_C(0x428a2f98d728ae22), UINT64_C(0x7137449123ef65cd), UINT64_C(0xb5c0fbcfec4d3b2f),
	UINT64_C(0xe9b5dba58189dbbc), UINT64_C(0x3956c25bf348b538), UINT64_C(0x59f111f1b605d019),
	UINT64_C(0x923f82a4af194f9b), UINT64_C(0xab1c5ed5da6d8118), UINT64_C(0xd807aa98a3030242),
	UINT64_C(0x12835b0145706fbe), UINT64_C(0x243185be4ee4b28c), UINT64_C(0x550c7dc3d5ffb4e2),
	UINT64_C(0x72be5d74f27b896f), UINT64_C(0x80deb1fe3b1696b1), UINT64_C(0x9bdc06a725c71235),
	UINT64_C(0xc19bf174cf692694), UINT64_C(0xe49b69c19ef14ad2), UINT64_C(0xefbe4786384f25e3),
	UINT64_C(0x0fc19dc68b8cd5b5), UINT64_C(0x240ca1cc77ac9c65), UINT64_C(0x2de92c6f592b0275),
	UINT64_C(0x4a7484aa6ea6e483), UINT64_C(0x5cb0a9dcbd41fbd4), UINT64_C(0x76f988da831153b5),
	UINT64_C(0x983e5152ee66dfab), UINT64_C(0xa831c66d2db43210), UINT64_C(0xb00327c898fb213f),
	UINT64_C(0xbf597fc7beef0ee4), UINT64_C(0xc6e00bf33da88fc2), UINT64_C(0xd5a79147930aa725),
	UINT64_C(0x06ca6351e003826f), UINT64_C(0x142929670a0e6e70), UINT64_C(0x27b70a8546d22ffc),
	UINT64_C(0x2e1b21385c26c926), UINT64_C(0x4d2c6dfc5ac42aed), UINT64_C(0x53380d139d95b3df),
	UINT64_C(0x650a73548baf63de), UINT64_C(0x766a0abb3c77b2a8), UINT64_C(0x81c2c92e47edaee6),
	UINT64_C(0x92722c851482353b), UINT64_C(0xa2bfe8a14cf10364), UINT64_C(0xa81a664bbc423001),
	UINT64_C(0xc24b8b70d0f89791), UINT64_C(0xc76c51a30654be30), UINT64_C(0xd192e819d6ef5218),
	UINT64_C(0xd69906245565a910), UINT64_C(0xf40e35855771202a), UINT64_C(0x106aa07032bbd1b8),
	UINT64_C(0x19a4c116b8d2d0c8), UINT64_C(0x1e376c085141ab53), UINT64_C(0x2748774cdf8eeb99),
	UINT64_C(0x34b0bcb5e19b48a8), UINT64_C(0x391c0cb3c5c95a63), UINT64_C(0x4ed8aa4ae3418acb),
	UINT64_C(0x5b9cca4f7763e373), UINT64_C(0x682e6ff3d6b2b8a3), UINT64_C(0x748f82ee5defb2fc),
	UINT64_C(0x78a5636f43172f60), UINT64_C(0x84c87814a1f0ab72), UINT64_C(0x8cc702081a6439ec),
	UINT64_C(0x90befffa23631e28), UINT64_C(0xa4506cebde82bde9), UINT64_C(0xbef9a3f7b2c67915),
	UINT64_C(0xc67178f2e372532b), UINT64_C(0xca273eceea26619c), UINT64_C(0xd186b8c721c0c207),
	UINT64_C(0xeada7dd6cde0eb1e), UINT64_C(0xf57d4f7fee6ed178), UINT64_C(0x06f067aa72176fba),
	UINT64_C(0x0a637dc5a2c898a6), UINT64_C(0x113f9804bef90dae), UINT64_C(0x1b710b35131c471b),
	UINT64_C(0x28db77f523047d84), UINT64_C(0x32caab7b40c72493), UINT64_C(0x3c9ebe0a15c9bebc),
	UINT64_C(0x431d67c49c100d4c), UINT64_C(0x4cc5d4becb3e42b6), UINT64_C(0x597f299cfc657e2a),
	UINT64_C(0x5fcb6fab3ad6faec), UINT64_C(0x6c44198c4a475817),
};

/* SHA-512/256's initial state (FIPS 180-4 5.3.6.2). */
static const uint64_t IV[8] = {
	UINT64_C(0x22312194fc2bf72c), UINT64_C(0x9f555fa3c84c64c2), UINT64_C(0x2393b86b6f53b151),
	UINT64_C(0x963877195940eabd), UINT64_C(0x96283ee2a88effe3), UINT64_C(0xbe5e1e2553863992),
	UINT64_C(0x2b0199fc2c85b8aa), UINT64_C(0x0eb72ddc81c52ca2),
};

struct lane {
	const uint8_t *p;
	size_t full;            /* whole blocks of the message */
	size_t next;            /* next block; those from full on are in pad */
	size_t total;           /* full + 1 or 2 */
	size_t msg;             /* index in the caller's arrays; SIZE_MAX: idle */
	uint8_t pad[2 * BLOCK]; /* the message's tail, 0x80, zeros, its length in bits */
};

bool zf_sha512x8_available(void)
{
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

static void lane_start(struct lane *l, const uint8_t *p, size_t n, size_t msg)
{
	size_t tail = n % BLOCK, blocks = tail + 1 + 16 <= BLOCK ? 1 : 2;
	uint64_t bits = (uint64_t)n << 3;
	uint8_t *end;

	l->p = p;
	l->full = n / BLOCK;
	l->next = 0;
	l->total = l->full + blocks;
	l->msg = msg;
	memset(l->pad, 0, sizeof(l->pad));
	if (tail)
		memcpy(l->pad, p + l->full * BLOCK, tail);
	l->pad[tail] = 0x80;
	/* a 128-bit length whose high half is 0: chunks are far below 2^61 bytes */
	end = l->pad + blocks * BLOCK;
	for (int i = 0; i < 8; i++)
		end[-1 - i] = (uint8_t)(bits >> (8 * i));
}

/*
 * Gives lane l (ln) the caller's next message if there is one, and puts
 * SHA-512/256's initial state in its column of st: 1 when it took one, 0
 * when the lane is left idle.
 */
static unsigned lane_take(struct lane *ln, unsigned l, uint64_t st[8][LANES],
			  const uint8_t *const *p, const size_t *n, size_t count, size_t *next)
{
	ln->msg = SIZE_MAX;
	for (int i = 0; i < 8; i++)
		st[i][l] = IV[i];
	if (*next >= count)
		return 0;
	lane_start(ln, p[*next], n[*next], *next);
	(*next)++;
	return 1;
}

static const uint8_t *lane_block(const struct lane *l)
{
	if (l->next < l->full)
		return l->p + l->next * BLOCK;
	return l->pad + (l->next - l->full) * BLOCK;
}

TARGET static inline __m512i xor3(__m512i a, __m512i b, __m512i c)
{
	return _mm512_ternarylogic_epi64(a, b, c, 0x96);
}

/* One block for each lane: blk[i] is lane i's 128 bytes. */
TARGET static void compress(__m512i s[8], const uint8_t *const blk[LANES])
{
	const __m512i bswap = _mm512_broadcast_i32x4(
		_mm_set_epi8(8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
	const __m512i addr = _mm512_loadu_si512((const void *)blk);
	__m512i w[16];
	__m512i a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];

	for (int t = 0; t < 16; t++) {
		__m512i at = _mm512_add_epi64(addr, _mm512_set1_epi64(8 * t));
		w[t] = _mm512_shuffle_epi8(_mm512_i64gather_epi64(at, NULL, 1), bswap);
	}
	for (int t = 0; t < 80; t++) {
		__m512i wt, t1, t2;

		if (t < 16) {
			wt = w[t];
		} else {
			__m512i w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
			__m512i s0 = xor3(_mm512_ror_epi64(w15, 1), _mm512_ror_epi64(w15, 8),
					  _mm512_srli_epi64(w15, 7));
			__m512i s1 = xor3(_mm512_ror_epi64(w2, 19), _mm512_ror_epi64(w2, 61),
					  _mm512_srli_epi64(w2, 6));
			wt = _mm512_add_epi64(_mm512_add_epi64(w[t & 15], s0),
					      _mm512_add_epi64(w[(t - 7) & 15], s1));
			w[t & 15] = wt;
		}
		t1 = _mm512_add_epi64(h, xor3(_mm512_ror_epi64(e, 14), _mm512_ror_epi64(e, 18),
					       _mm512_ror_epi64(e, 41)));
		t1 = _mm512_add_epi64(t1, _mm512_ternarylogic_epi64(e, f, g, 0xca)); /* Ch */
		t1 = _mm512_add_epi64(t1, _mm512_add_epi64(wt, _mm512_set1_epi64((long long)K[t])));
		t2 = _mm512_add_epi64(xor3(_mm512_ror_epi64(a, 28), _mm512_ror_epi64(a, 34),
					   _mm512_ror_epi64(a, 39)),
				      _mm512_ternarylogic_epi64(a, b, c, 0xe8)); /* Maj */
		h = g;
		g = f;
		f = e;
		e = _mm512_add_epi64(d, t1);
		d = c;
		c = b;
		b = a;
		a = _mm512_add_epi64(t1, t2);
	}
	s[0] = _mm512_add_epi64(s[0], a);
	s[1] = _mm512_add_epi64(s[1], b);
	s[2] = _mm512_add_epi64(s[2], c);
	s[3] = _mm512_add_epi64(s[3], d);
	s[4] = _mm512_add_epi64(s[4], e);
	s[5] = _mm512_add_epi64(s[5], f);
	s[6] = _mm512_add_epi64(s[6], g);
	s[7] = _mm512_add_epi64(s[7], h);
}

TARGET void zf_sha512x8_256(const uint8_t *const *p, const size_t *n, size_t count,
			    uint8_t (*ret)[32])
{
	static const uint8_t idle[BLOCK];
	struct lane lanes[LANES];
	uint64_t st[8][LANES];          /* st[word][lane] */
	__m512i s[8];
	size_t next = 0;
	unsigned active = 0;

	for (unsigned l = 0; l < LANES; l++)
		active += lane_take(&lanes[l], l, st, p, n, count, &next);
	for (int i = 0; i < 8; i++)
		s[i] = _mm512_loadu_si512((const void *)st[i]);
	while (active > 0) {
		const uint8_t *blk[LANES];
		bool ended = false;

		for (unsigned l = 0; l < LANES; l++)
			blk[l] = lanes[l].msg == SIZE_MAX ? idle : lane_block(&lanes[l]);
		compress(s, blk);
		for (unsigned l = 0; l < LANES; l++)
			if (lanes[l].msg != SIZE_MAX && ++lanes[l].next == lanes[l].total)
				ended = true;
		if (!ended)
			continue;
		for (int i = 0; i < 8; i++)
			_mm512_storeu_si512((void *)st[i], s[i]);
		for (unsigned l = 0; l < LANES; l++) {
			struct lane *ln = &lanes[l];

			if (ln->msg == SIZE_MAX || ln->next != ln->total)
				continue;
			/* SHA-512/256: the first four words, big-endian */
			for (int i = 0; i < 4; i++)
				for (int k = 0; k < 8; k++)
					ret[ln->msg][8 * i + k] = (uint8_t)(st[i][l] >> (56 - 8 * k));
			active--;
			active += lane_take(ln, l, st, p, n, count, &next);
		}
		for (int i = 0; i < 8; i++)
			s[i] = _mm512_loadu_si512((const void *)st[i]);
	}
}
