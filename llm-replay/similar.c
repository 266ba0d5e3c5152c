/* similar.c — how alike two answers' texts are: the Sørensen–Dice
 * coefficient of their character bigrams, 2·|A∩B| / (|A|+|B|) over
 * multisets of adjacent code-point pairs. 1 for equal texts, 0 for texts
 * with no pair in common; insensitive to where a shared passage sits, and
 * O(n log n), so long answers cost little. */
#include "replay.h"
#include <stdlib.h>
#include <string.h>

/* Code points of s (a byte that does not start valid UTF-8 counts as
 * itself, shifted out of the Unicode range). */
static uint32_t *code_points(const char *s, size_t n, size_t *count)
{
    uint32_t *cp = malloc((n ? n : 1) * sizeof *cp);
    if (!cp) return NULL;
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        uint32_t v = 0x110000u + c;
        if (len && i + len <= n) {
            v = len == 1 ? c : c & (0xffu >> (len + 1));
            size_t j = 1;
            for (; j < len && (p[i + j] & 0xc0) == 0x80; j++) v = (v << 6) | (p[i + j] & 0x3f);
            if (j < len) { v = 0x110000u + c; len = 1; }
        } else {
            len = 1;
        }
        cp[k++] = v;
        i += len;
    }
    *count = k;
    return cp;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t *bigrams(const char *s, size_t n, size_t *count)
{
    size_t k;
    uint32_t *cp = code_points(s, n, &k);
    if (!cp) return NULL;
    *count = k > 1 ? k - 1 : 0;
    uint64_t *g = malloc((*count ? *count : 1) * sizeof *g);
    if (g) {
        for (size_t i = 0; i < *count; i++) g[i] = (uint64_t)cp[i] << 32 | cp[i + 1];
        qsort(g, *count, sizeof *g, cmp_u64);
    }
    free(cp);
    return g;
}

double text_similarity(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen == blen && !memcmp(a, b, alen)) return 1.0;
    size_t na, nb;
    uint64_t *ga = bigrams(a, alen, &na), *gb = bigrams(b, blen, &nb);
    double r = 0;
    if (ga && gb && na + nb > 0) {
        size_t i = 0, j = 0, common = 0;
        while (i < na && j < nb) {
            if (ga[i] == gb[j]) { common++; i++; j++; }
            else if (ga[i] < gb[j]) i++;
            else j++;
        }
        r = 2.0 * (double)common / (double)(na + nb);
    }
    free(ga);
    free(gb);
    return r;
}
