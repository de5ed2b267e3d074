/* The scan's compiled core: one pass over a batch's bytes that folds them, splits words, codes each word,
 * hashes every window of every probed length and probes the index's prefilter tables.
 *
 * It computes exactly what the reference path in harness/leakage/hashing.py and matcher.py computes with
 * numpy (fold with ASCII_FOLD, words = runs of folded bytes > 0x20, word code from the first 16 and last 8
 * bytes and the length, n-gram hash sum(c_j * P^j) mod 2^64, slot = top `bits` bits, fingerprint = the next
 * 8 bits forced odd); tests/leakage/test_fastscan.py holds the two equal on arbitrary input. Why C: numpy
 * needs a dozen passes over the words of a batch, and numba's import and JIT cost a second per process,
 * which is longer than a whole scan of a 50 MB file should take (docs/scan.md has the measurements).
 *
 * scan(data, text_starts, fold, probes) -> (n_words, first_word, [(positions, hashes), ...])
 *   data: the batch's texts joined by one separator byte (bytes-like)
 *   text_starts: int64 buffer, n_texts + 1 byte offsets (the last one is len(data) + 1)
 *   fold: 256-byte table
 *   probes: sequence of (k, bits, table) with table a uint8 buffer of 2**bits slots
 * Returns bytes objects holding int64 / uint64 arrays: first_word (n_texts + 1 entries: the index of each
 * text's first word, then the word count), and per probe the first word of every window of k words that
 * lies inside one text and passes the prefilter, with its hash.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define K1 0x9E3779B97F4A7C15ULL
#define K2 0xC2B2AE3D27D4EB4FULL
#define K3 0x165667B19E3779F9ULL
#define MIX 0xFF51AFD7ED558CCDULL
#define PRIME 0x100000001B3ULL
#define MAX_PROBES 16
#define MAX_K 4096
#define AHEAD 32 /* windows whose table slot is prefetched before it is read (a random access into MiBs) */

typedef struct {
    uint64_t *pos;
    uint64_t *hash;
    Py_ssize_t len, cap;
} cands_t;

typedef struct { /* windows hashed, their slot prefetched, not yet looked up */
    uint64_t pos[AHEAD], hash[AHEAD];
    unsigned head, size;
} pending_t;

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

/* Look one window up in its prefilter table; keep it as a candidate when the fingerprint agrees. */
static inline int check(cands_t *c, const uint8_t *table, int b, uint64_t pos, uint64_t wh) {
    uint8_t stored = table[wh >> (64 - b)];
    if (!stored) return 0;
    uint8_t fp = (uint8_t)(((wh >> (56 - b)) & 0xFF) | 1);
    if (stored == fp || stored == 2) return push(c, pos, wh);
    return 0;
}

static PyObject *scan(PyObject *self, PyObject *args) {
    Py_buffer data = {0}, starts = {0}, fold = {0};
    PyObject *probes_obj;
    if (!PyArg_ParseTuple(args, "y*y*y*O", &data, &starts, &fold, &probes_obj)) return NULL;

    PyObject *result = NULL, *fw_bytes = NULL, *list = NULL;
    Py_buffer tables[MAX_PROBES];
    int ks[MAX_PROBES], bits[MAX_PROBES];
    cands_t cands[MAX_PROBES];
    pending_t pend[MAX_PROBES];
    memset(cands, 0, sizeof(cands));
    memset(pend, 0, sizeof(pend));
    Py_ssize_t n_probes = 0, n_tables = 0;
    uint64_t *first_word = NULL;

    if (fold.len != 256 || starts.len % 8 != 0 || starts.len < 8) {
        PyErr_SetString(PyExc_ValueError, "fold must have 256 bytes and text_starts at least one int64");
        goto done;
    }
    PyObject *seq = PySequence_Fast(probes_obj, "probes must be a sequence of (k, bits, table)");
    if (!seq) goto done;
    n_probes = PySequence_Fast_GET_SIZE(seq);
    if (n_probes > MAX_PROBES) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "too many window lengths");
        goto done;
    }
    int max_k = 1;
    for (Py_ssize_t p = 0; p < n_probes; p++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, p);
        if (!PyArg_ParseTuple(item, "iiy*", &ks[p], &bits[p], &tables[p])) {
            Py_DECREF(seq);
            goto done;
        }
        n_tables++;
        if (ks[p] < 1 || ks[p] > MAX_K || bits[p] < 1 || bits[p] > 56 || tables[p].len != ((Py_ssize_t)1 << bits[p])) {
            Py_DECREF(seq);
            PyErr_SetString(PyExc_ValueError, "bad probe: need 1 <= k <= 4096 and a table of 2**bits bytes");
            goto done;
        }
        if (ks[p] > max_k) max_k = ks[p];
    }
    Py_DECREF(seq);

    const uint8_t *buf = (const uint8_t *)data.buf;
    const uint8_t *ft = (const uint8_t *)fold.buf;
    const int64_t *ts = (const int64_t *)starts.buf;
    Py_ssize_t n = data.len, n_texts = starts.len / 8 - 1;
    first_word = malloc((n_texts + 1) * sizeof(uint64_t));
    int ring = 1;
    while (ring < max_k + 1) ring <<= 1;
    uint64_t *ring_s = calloc(ring, sizeof(uint64_t)), *ring_inv = calloc(ring, sizeof(uint64_t));
    if (!first_word || !ring_s || !ring_inv) {
        free(ring_s);
        free(ring_inv);
        PyErr_NoMemory();
        goto done;
    }
    int failed = 0;
    uint64_t n_words = 0;
    Py_BEGIN_ALLOW_THREADS
    const uint64_t p_inv = prime_inverse();
    const uint64_t rmask = (uint64_t)ring - 1;
    uint64_t prefix = 0, pw = 1, inv = 1; /* S_j, P^j, P^-j for the next word j */
    ring_s[0] = 0;
    ring_inv[0] = 1;
    uint64_t text_first = 0;
    Py_ssize_t t = 0;
    Py_ssize_t next_start = n_texts >= 0 ? ts[0] : n + 1;
    uint64_t a0 = 0, a1 = 0, tail = 0;
    Py_ssize_t len = 0;
    for (Py_ssize_t i = 0; i <= n; i++) {
        while (i == next_start && t <= n_texts) { /* a text begins here (never inside a word) */
            first_word[t] = n_words;
            text_first = n_words;
            t++;
            next_start = t <= n_texts ? ts[t] : n + 1;
        }
        uint8_t c = i < n ? ft[buf[i]] : 32;
        if (c > 32) {
            if (len < 8)
                a0 |= (uint64_t)c << (8 * len);
            else if (len < 16)
                a1 |= (uint64_t)c << (8 * (len - 8));
            tail = (tail >> 8) | ((uint64_t)c << 56);
            len++;
            continue;
        }
        if (!len) continue;
        /* the word just ended: its code, then every window that ends with it */
        uint64_t h = a0 * K1 + (uint64_t)len;
        if (len > 8) h += a1 * K2 + (len > 16 ? tail * K3 : 0);
        h ^= h >> 32;
        h *= MIX;
        a0 = a1 = tail = 0;
        len = 0;
        prefix += h * pw;
        pw *= PRIME;
        inv *= p_inv;
        n_words++;
        ring_s[n_words & rmask] = prefix;
        ring_inv[n_words & rmask] = inv;
        for (Py_ssize_t p = 0; p < n_probes; p++) {
            uint64_t k = (uint64_t)ks[p];
            if (n_words < text_first + k) continue; /* the window would start in an earlier text */
            uint64_t s = n_words - k;
            uint64_t wh = (prefix - ring_s[s & rmask]) * ring_inv[s & rmask];
            const uint8_t *table = (const uint8_t *)tables[p].buf;
            int b = bits[p];
            __builtin_prefetch(table + (wh >> (64 - b)));
            pending_t *q = &pend[p];
            if (q->size == AHEAD) { /* the oldest pending window: its slot has had time to arrive */
                if (check(&cands[p], table, b, q->pos[q->head], q->hash[q->head])) {
                    failed = 1;
                    break;
                }
                q->pos[q->head] = s;
                q->hash[q->head] = wh;
                q->head = (q->head + 1) % AHEAD;
            } else {
                unsigned at = (q->head + q->size) % AHEAD;
                q->pos[at] = s;
                q->hash[at] = wh;
                q->size++;
            }
        }
        if (failed) break;
    }
    for (Py_ssize_t p = 0; p < n_probes && !failed; p++) { /* the windows still pending, in order */
        pending_t *q = &pend[p];
        for (unsigned j = 0; j < q->size && !failed; j++) {
            unsigned at = (q->head + j) % AHEAD;
            failed = check(&cands[p], (const uint8_t *)tables[p].buf, bits[p], q->pos[at], q->hash[at]);
        }
    }
    while (!failed && t <= n_texts) first_word[t++] = n_words;
    Py_END_ALLOW_THREADS
    free(ring_s);
    free(ring_inv);
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    fw_bytes = PyBytes_FromStringAndSize((const char *)first_word, (n_texts + 1) * sizeof(uint64_t));
    list = PyList_New(n_probes);
    if (!fw_bytes || !list) goto done;
    for (Py_ssize_t p = 0; p < n_probes; p++) {
        Py_ssize_t size = cands[p].len * (Py_ssize_t)sizeof(uint64_t);
        const char *pos = cands[p].pos ? (const char *)cands[p].pos : "";
        const char *hash = cands[p].hash ? (const char *)cands[p].hash : ""; /* y# of NULL would be None */
        PyObject *pair = Py_BuildValue("(y#y#)", pos, size, hash, size);
        if (!pair) goto done;
        PyList_SET_ITEM(list, p, pair);
    }
    result = Py_BuildValue("(KOO)", (unsigned long long)n_words, fw_bytes, list);
done:
    Py_XDECREF(fw_bytes);
    Py_XDECREF(list);
    free(first_word);
    for (Py_ssize_t p = 0; p < MAX_PROBES; p++) {
        free(cands[p].pos);
        free(cands[p].hash);
    }
    for (Py_ssize_t p = 0; p < n_tables; p++) PyBuffer_Release(&tables[p]);
    PyBuffer_Release(&data);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&fold);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, "Fold, split, code and hash a batch; probe the prefilter tables."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastscan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__fastscan(void) { return PyModule_Create(&module); }
