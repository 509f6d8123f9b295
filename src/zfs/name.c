/* src/zfs/name.c — names zferry makes for zfs: per-identity namespaces */
#include <stdio.h>
#include <string.h>
#include "util/hex.h"
#include "zfs/zfs.h"
#include "util/banned.h"

void zf_zfs_namespace(const char *identity, char out[ZF_ZFS_NAMESPACE_MAX])
{
	size_t n = strlen(identity), o = 0;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n && i < 64; i++) {
		unsigned char c = (unsigned char)identity[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-' || c == ':') {
			out[o++] = (char)c;
		} else {
			out[o++] = '.';
			out[o++] = zf_hex_chars[c >> 4];
			out[o++] = zf_hex_chars[c & 15];
		}
	}
	if (n > 64) {
		for (size_t i = 0; i < n; i++)
			h = (h ^ (unsigned char)identity[i]) * 1099511628211ULL;
		out[o++] = '.';
		out[o++] = '.';
		for (int k = 60; k >= 0; k -= 4)
			out[o++] = zf_hex_chars[(h >> k) & 15];
	}
	out[o] = '\0';
}
