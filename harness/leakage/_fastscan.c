/* The scan's compiled core: one pass over a batch's bytes that folds them, splits words, codes each word,
 * hashes every window of every probed length and looks each window up in the index.
 *
 * It computes exactly what the reference path in harness/leakage/hashing.py and index.py computes with
 * numpy (fold with ASCII_FOLD, words = runs of folded bytes > 0x20, word code from the first 16 and last 8
 * bytes and the length, n-gram hash sum(c_j * P^j) mod 2^64, and membership of each window's hash among the
 * sorted keys); tests/leakage/test_fastscan.py holds the two equal on arbitrary input, and leakage.json equal
 * from whole scans. Why C: numpy needs a dozen passes over the words of a batch, and numba's import and JIT
 * cost a second per process, longer than a whole scan of a 50 MB file takes (docs/scan.md).
 *
 * How: 64 bytes at a time are folded with SSE2 and give a 64-bit mask of word bytes, whose set bits are
 * word starts and ends (no branch per byte); each word's code extends a prefix sum; every CHUNK words, one
 * tight loop per window length hashes the windows ending in those words, (S[e] - S[s]) * P^-s, and tests
 * each against the length's register-blocked Bloom filter (index.KeyLookup: one 64-bit word per window,
 * with group prefetching when the filter is larger than L2); the few windows that pass are checked against
 * the keys through 16-bit fingerprints in buckets, so only exact hits leave C.
 *
 * scan(data, text_starts, fold, probes) -> (n_words, first_word, [(positions, hashes), ...])
 *   data: the batch's texts joined by one separator byte (bytes-like)
 *   text_starts: int64 buffer, n_texts + 1 byte offsets (the last one is len(data) + 1)
 *   fold: the 256-byte ASCII_FOLD table (checked: the SIMD fold hard-codes it)
 *   probes: sequence of (k, keys, bits, offsets, fingerprints, bloom_bits, bloom), an index.KeyLookup
 * Returns bytes objects holding int64 / uint64 arrays: first_word (n_texts + 1 entries: the index of each
 * text's first word, then the word count), and per probe the first word of every window of k words that
 * lies inside one text and whose hash is one of the keys, with its hash, in text order.
 *
 * The JSON Lines block parser that feeds it lives in _jsonlines.c (same module).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define K1 0x9E3779B97F4A7C15ULL
#define K2 0xC2B2AE3D27D4EB4FULL
#define K3 0x165667B19E3779F9ULL
#define MIX 0xFF51AFD7ED558CCDULL
#define PRIME 0x100000001B3ULL
#define MAX_PROBES 16
#define MAX_K 4096

typedef struct {
    uint64_t *pos;
    uint64_t *hash;
    Py_ssize_t len, cap;
} cands_t;

typedef struct { /* one probed window length: its sorted keys and their index.KeyLookup */
    int k, bits, bloom_bits, ahead;
    const uint64_t *keys;
    Py_ssize_t n_keys;
    const uint32_t *off;   /* 2**bits + 1 */
    const uint16_t *fps;   /* n_keys */
    const uint64_t *bloom; /* 2**bloom_bits */
} probe_t;

#define BLOOM_K 3
#define BLOOM_MIX 0x9E3779B97F4A7C15ULL

static inline uint64_t bloom_mask(uint64_t h) { /* index.bloom_masks */
    uint64_t g = (h ^ (h >> 29)) * BLOOM_MIX, m = 0;
    for (int i = 0; i < BLOOM_K; i++) m |= 1ULL << ((g >> (58 - 6 * i)) & 63);
    return m;
}

static uint64_t prime_inverse(void) {
    uint64_t inv = PRIME; /* Newton's iteration doubles the correct low bits each step */
    for (int i = 0; i < 6; i++) inv *= 2 - PRIME * inv;
    return inv;
}

static int push(cands_t *c, uint64_t pos, uint64_t hash) {
    if (c->len == c->cap) {
        Py_ssize_t cap = c->cap ? 2 * c->cap : 1024;
        uint64_t *p = realloc(c->pos, cap * sizeof(uint64_t));
        if (!p) return -1;
        c->pos = p;
        uint64_t *h = realloc(c->hash, cap * sizeof(uint64_t));
        if (!h) return -1;
        c->hash = h;
        c->cap = cap;
    }
    c->pos[c->len] = pos;
    c->hash[c->len] = hash;
    c->len++;
    return 0;
}

/* A window that got past the Bloom filter: its bucket, compared by fingerprint, then by whole key. */
static inline int exact(const probe_t *pr, cands_t *c, uint64_t pos, uint64_t wh) {
    uint64_t b = wh >> (64 - pr->bits);
    uint32_t lo = pr->off[b], hi = pr->off[b + 1];
    if ((Py_ssize_t)hi > pr->n_keys) hi = (uint32_t)pr->n_keys; /* never read past the keys */
    uint16_t fp = (uint16_t)(wh >> (48 - pr->bits));
    for (uint32_t i = lo; i < hi; i++)
        if (pr->fps[i] == fp && pr->keys[i] == wh) return push(c, pos, wh);
    return 0;
}

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v; /* little-endian hosts (x86-64, arm64): the numpy reference reads '<u8' the same way */
}

static uint8_t FOLD[256]; /* = normalize.ASCII_FOLD; filled at import */

static const uint64_t LOW[9] = {0, 0xFF, 0xFFFF, 0xFFFFFF, 0xFFFFFFFFULL, 0xFFFFFFFFFFULL, 0xFFFFFFFFFFFFULL,
                                0xFFFFFFFFFFFFFFULL, 0xFFFFFFFFFFFFFFFFULL};

/* Fold 64 bytes into dst (FOLD, byte by byte) and return the mask of word bytes (bit j: dst[j] > 0x20).
 * SSE2 (every x86-64): letters lower-cased, digits and bytes >= 0x80 kept, everything else a space. */
static inline uint64_t fold64(const uint8_t *src, uint8_t *dst) {
#if defined(__SSE2__)
    uint64_t mask = 0;
    const __m128i space = _mm_set1_epi8(0x20);
    for (int j = 0; j < 4; j++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(src + 16 * j));
        __m128i low = _mm_or_si128(v, space);
        __m128i alpha = _mm_cmplt_epi8(_mm_add_epi8(low, _mm_set1_epi8((char)(0x80 - 'a'))),
                                       _mm_set1_epi8((char)(-128 + 26)));
        __m128i digit = _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - '0'))),
                                       _mm_set1_epi8((char)(-128 + 10)));
        __m128i keep = _mm_or_si128(digit, _mm_cmplt_epi8(v, _mm_setzero_si128()));
        __m128i word = _mm_or_si128(alpha, keep);
        __m128i out = _mm_or_si128(_mm_and_si128(alpha, low), _mm_and_si128(keep, v));
        out = _mm_or_si128(out, _mm_andnot_si128(word, space));
        _mm_storeu_si128((__m128i *)(dst + 16 * j), out);
        mask |= (uint64_t)(uint16_t)_mm_movemask_epi8(word) << (16 * j);
    }
    return mask;
#else
    uint64_t mask = 0;
    for (int j = 0; j < 64; j++) {
        uint8_t c = FOLD[src[j]];
        dst[j] = c;
        mask |= (uint64_t)(c > 32) << j;
    }
    return mask;
#endif
}

typedef struct { /* one pass over a batch: its inputs and outputs */
    const uint8_t *buf;
    Py_ssize_t n, n_texts;
    const int64_t *ts;
    uint64_t *first_word;
    uint64_t n_words;
    int max_k;
    Py_ssize_t n_probes;
    probe_t probes[MAX_PROBES];
    cands_t cands[MAX_PROBES];
} pass_t;

/* The pass itself: fold 64 bytes at a time, find word starts and ends in the mask, code each word, update
 * the prefix sum, hash every window ending with the word and look it up. The state lives in locals (not in
 * `s`) so that the compiler keeps it in registers. Returns -1 when out of memory. */
#define CHUNK 256 /* words collected before the windows ending in them are looked up */

/* The windows of k words that end in the chunk's words: hashed, and looked up in the probe's filter. The
 * chunk's prefix sums S and powers I are indexed from x = 0 at global word count `base - H`, so the window
 * ending with chunk word j (count base + j + 1) starts at count base + j + 1 - k, at x = H + j + 1 - k.
 * A large filter is read with group prefetching: every window's Bloom word is requested first, then all
 * are tested (by then they have arrived). Returns -1 when out of memory. */
static int lookup_chunk(const probe_t *pr, cands_t *c, const uint64_t *S, const uint64_t *I, const uint64_t *tf,
                        uint64_t base, int cnt, int H, uint64_t *wh) {
    const uint64_t k = (uint64_t)pr->k;
    const int shift = 64 - pr->bloom_bits;
    if (!pr->ahead) { /* a small filter, in cache: one loop */
        for (int j = 0; j < cnt; j++) {
            uint64_t end = base + (uint64_t)j + 1;
            if (end < tf[j] + k) continue; /* the window would start in an earlier text */
            int x = H + j + 1 - pr->k;
            uint64_t h = (S[H + j + 1] - S[x]) * I[x], m = bloom_mask(h);
            if ((pr->bloom[h >> shift] & m) == m && exact(pr, c, end - k, h)) return -1;
        }
        return 0;
    }
    for (int j = 0; j < cnt; j++) {
        int x = H + j + 1 - pr->k;
        wh[j] = (S[H + j + 1] - S[x]) * I[x];
        __builtin_prefetch(pr->bloom + (wh[j] >> shift));
    }
    for (int j = 0; j < cnt; j++) {
        uint64_t end = base + (uint64_t)j + 1;
        if (end < tf[j] + k) continue; /* the window would start in an earlier text */
        uint64_t m = bloom_mask(wh[j]);
        if ((pr->bloom[wh[j] >> shift] & m) != m) continue;
        if (exact(pr, c, end - k, wh[j])) return -1;
    }
    return 0;
}

/* The pass: fold 64 bytes at a time, find word starts and ends in the mask, code each word and extend the
 * prefix sum; every CHUNK words, look up the windows ending in them (lookup_chunk). The state lives in
 * locals so that the compiler keeps it in registers. Returns -1 when out of memory. */
static int run_pass(pass_t *s, uint8_t *fb) {
    const uint8_t *buf = s->buf;
    const Py_ssize_t n = s->n, n_texts = s->n_texts;
    const int64_t *ts = s->ts;
    uint64_t *restrict first_word = s->first_word;
    const Py_ssize_t n_probes = s->n_probes;
    const int H = s->max_k; /* history kept before the chunk: the longest window */
    uint64_t *restrict S = malloc((H + CHUNK + 1) * sizeof(uint64_t));
    uint64_t *restrict I = malloc((H + CHUNK + 1) * sizeof(uint64_t));
    uint64_t tf[CHUNK], wh[CHUNK];
    if (!S || !I) {
        free(S);
        free(I);
        return -1;
    }
    for (int x = 0; x <= H; x++) { /* counts before the first word: S_0 = 0, I_0 = 1 (never read below) */
        S[x] = 0;
        I[x] = 1;
    }
    const uint64_t p_inv = prime_inverse();
    uint64_t n_words = 0, text_first = 0, prefix = 0, pw = 1, inv = 1;
    uint64_t base = 0; /* word count before the chunk */
    int cnt = 0;       /* words in the chunk */
    Py_ssize_t t = 0, next_start = n_texts >= 0 ? ts[0] : n + 1;
    Py_ssize_t blocks = (n + 63) / 64;
    uint64_t carry = 0; /* whether the byte before this block was a word byte */
    Py_ssize_t ws = -1; /* start of the word being read, -1 between words */
    uint8_t tail[64];
    int failed = 0;
    for (Py_ssize_t blk = 0; blk <= blocks && !failed; blk++) {
        Py_ssize_t at0 = blk * 64;
        uint64_t e;
        int last = blk == blocks;
        if (!last) {
            const uint8_t *src = buf + at0;
            if (at0 + 64 > n) { /* the last, partial block: padded with spaces */
                memset(tail, 0x20, 64);
                memcpy(tail, buf + at0, (size_t)(n - at0));
                src = tail;
            }
            uint64_t m = fold64(src, fb + at0);
            e = m ^ ((m << 1) | carry); /* word starts and word ends, alternately */
            carry = m >> 63;
        } else { /* after the last block: end the word still open */
            at0 = n;
            e = ws >= 0 ? 1 : 0;
        }
        while (e) {
            Py_ssize_t at = at0 + __builtin_ctzll(e);
            e &= e - 1;
            if (ws < 0) {
                ws = at;
                continue;
            }
            /* a word [ws, at): first the texts that begin before it */
            while (next_start <= ws) {
                first_word[t] = n_words;
                text_first = n_words;
                t++;
                next_start = t <= n_texts ? ts[t] : n + 1;
            }
            uint64_t len = (uint64_t)(at - ws);
            const uint8_t *w = fb + ws;
            ws = -1;
            uint64_t x0 = load64(w) & LOW[len < 8 ? len : 8];
            uint64_t x1 = load64(w + 8) & LOW[len > 16 ? 8 : (len > 8 ? len - 8 : 0)];
            uint64_t x2 = load64(w + len - 8) & (len > 16 ? ~0ULL : 0ULL);
            uint64_t h = x0 * K1 + len + x1 * K2 + x2 * K3;
            h ^= h >> 32;
            h *= MIX;
            prefix += h * pw;
            pw *= PRIME;
            inv *= p_inv;
            n_words++;
            S[H + cnt + 1] = prefix;
            I[H + cnt + 1] = inv;
            tf[cnt] = text_first;
            cnt++;
            if (cnt == CHUNK) {
                for (Py_ssize_t p = 0; p < n_probes && !failed; p++)
                    failed = lookup_chunk(&s->probes[p], &s->cands[p], S, I, tf, base, cnt, H, wh);
                memmove(S, S + cnt, (H + 1) * sizeof(uint64_t)); /* the history of the next chunk */
                memmove(I, I + cnt, (H + 1) * sizeof(uint64_t));
                base += cnt;
                cnt = 0;
                if (failed) break;
            }
        }
    }
    for (Py_ssize_t p = 0; p < n_probes && !failed && cnt; p++)
        failed = lookup_chunk(&s->probes[p], &s->cands[p], S, I, tf, base, cnt, H, wh);
    while (!failed && t <= n_texts) first_word[t++] = n_words;
    s->n_words = n_words;
    free(S);
    free(I);
    return failed ? -1 : 0;
}

static PyObject *scan(PyObject *self, PyObject *args) {
    Py_buffer data = {0}, starts = {0}, fold = {0};
    PyObject *probes_obj;
    if (!PyArg_ParseTuple(args, "y*y*y*O", &data, &starts, &fold, &probes_obj)) return NULL;

    PyObject *result = NULL, *fw_bytes = NULL, *list = NULL;
    Py_buffer bufs[MAX_PROBES][4]; /* keys, offsets, fingerprints, Bloom words */
    pass_t *s = calloc(1, sizeof(pass_t));
    Py_ssize_t n_tables = 0;
    uint8_t *fb_alloc = NULL;
    if (!s) return PyErr_NoMemory();

    if (fold.len != 256 || memcmp(fold.buf, FOLD, 256) != 0 || starts.len % 8 != 0 || starts.len < 8) {
        PyErr_SetString(PyExc_ValueError,
                        "fold must be the 256-byte ASCII_FOLD table and text_starts at least one int64");
        goto done;
    }
    PyObject *seq = PySequence_Fast(probes_obj, "probes must be a sequence of (k, keys, bits, offsets, fps)");
    if (!seq) goto done;
    s->n_probes = PySequence_Fast_GET_SIZE(seq);
    if (s->n_probes > MAX_PROBES) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "too many window lengths");
        goto done;
    }
    int max_k = 1;
    for (Py_ssize_t p = 0; p < s->n_probes; p++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, p);
        probe_t *pr = &s->probes[p];
        if (!PyArg_ParseTuple(item, "iy*iy*y*iy*", &pr->k, &bufs[p][0], &pr->bits, &bufs[p][1], &bufs[p][2],
                              &pr->bloom_bits, &bufs[p][3])) {
            Py_DECREF(seq);
            goto done;
        }
        n_tables++;
        pr->keys = (const uint64_t *)bufs[p][0].buf;
        pr->n_keys = bufs[p][0].len / 8;
        pr->off = (const uint32_t *)bufs[p][1].buf;
        pr->fps = (const uint16_t *)bufs[p][2].buf;
        pr->bloom = (const uint64_t *)bufs[p][3].buf;
        if (pr->k < 1 || pr->k > MAX_K || pr->bits < 1 || pr->bits > 32 || bufs[p][0].len % 8 ||
            bufs[p][1].len != (((Py_ssize_t)1 << pr->bits) + 1) * 4 || bufs[p][2].len != pr->n_keys * 2 ||
            pr->n_keys > 0xFFFFFFFFLL || pr->bloom_bits < 1 || pr->bloom_bits > 40 ||
            bufs[p][3].len != ((Py_ssize_t)1 << pr->bloom_bits) * 8) {
            Py_DECREF(seq);
            PyErr_SetString(PyExc_ValueError,
                            "bad probe: need 1 <= k <= 4096, 1 <= bits <= 32, uint64 keys, 2**bits + 1 uint32 "
                            "offsets, a uint16 fingerprint per key and 2**bloom_bits uint64 Bloom words");
            goto done;
        }
        pr->ahead = bufs[p][3].len > (256 << 10); /* a Bloom filter over 256 KiB: pipelined prefetch */
        if (pr->k > max_k) max_k = pr->k;
    }
    Py_DECREF(seq);

    s->buf = (const uint8_t *)data.buf;
    s->n = data.len;
    s->ts = (const int64_t *)starts.buf;
    s->n_texts = starts.len / 8 - 1;
    s->max_k = max_k;
    s->first_word = malloc((s->n_texts + 1) * sizeof(uint64_t));
    Py_ssize_t blocks = (s->n + 63) / 64;
    fb_alloc = malloc(16 + blocks * 64 + 64);
    if (!s->first_word || !fb_alloc) {
        PyErr_NoMemory();
        goto done;
    }
    int failed;
    Py_BEGIN_ALLOW_THREADS
    memset(fb_alloc, 0x20, 16); /* folded bytes, with pads of spaces before and after for 8-byte loads */
    memset(fb_alloc + 16 + blocks * 64, 0x20, 64);
    failed = run_pass(s, fb_alloc + 16);
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    fw_bytes = PyBytes_FromStringAndSize((const char *)s->first_word, (s->n_texts + 1) * sizeof(uint64_t));
    list = PyList_New(s->n_probes);
    if (!fw_bytes || !list) goto done;
    for (Py_ssize_t p = 0; p < s->n_probes; p++) {
        Py_ssize_t size = s->cands[p].len * (Py_ssize_t)sizeof(uint64_t);
        const char *pos = s->cands[p].pos ? (const char *)s->cands[p].pos : "";
        const char *hash = s->cands[p].hash ? (const char *)s->cands[p].hash : ""; /* y# of NULL: None */
        PyObject *pair = Py_BuildValue("(y#y#)", pos, size, hash, size);
        if (!pair) goto done;
        PyList_SET_ITEM(list, p, pair);
    }
    result = Py_BuildValue("(KOO)", (unsigned long long)s->n_words, fw_bytes, list);
done:
    Py_XDECREF(fw_bytes);
    Py_XDECREF(list);
    free(fb_alloc);
    free(s->first_word);
    for (Py_ssize_t p = 0; p < MAX_PROBES; p++) {
        free(s->cands[p].pos);
        free(s->cands[p].hash);
    }
    free(s);
    for (Py_ssize_t p = 0; p < n_tables; p++)
        for (int j = 0; j < 4; j++) PyBuffer_Release(&bufs[p][j]);
    PyBuffer_Release(&data);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&fold);
    return result;
}

PyObject *parse_jsonl(PyObject *self, PyObject *args); /* _jsonlines.c */
PyObject *separators(PyObject *self, PyObject *unused);
PyObject *fold_table(PyObject *self, PyObject *unused);
PyObject *count_lines(PyObject *self, PyObject *args);
void fold_init(void);

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, "Fold, split, code and hash a batch; probe the prefilter tables."},
    {"parse_jsonl", parse_jsonl, METH_VARARGS, "Parse a block of JSON Lines (the common case; see _jsonlines.c)."},
    {"separators", separators, METH_NOARGS, "The code points that parse_jsonl blanks without its table."},
    {"count_lines", count_lines, METH_VARARGS, "Newlines in buffer[start:end]."},
    {"fold_table", fold_table, METH_NOARGS, "(Unicode version, run starts, run classes) of the fold table."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastscan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__fastscan(void) {
    for (int b = 0; b < 256; b++)
        FOLD[b] = (uint8_t)(b >= 'A' && b <= 'Z' ? b + 32
                            : ((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || b >= 128) ? b
                                                                                               : 32);
    fold_init();
    PyObject *m = PyModule_Create(&module);
    /* hashing.CORE_VERSION: a build of older sources (an install not rebuilt) is not used */
    if (m && PyModule_AddIntConstant(m, "VERSION", 2) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
