/*
 * model.c - the learned policy's model file (DESIGN §6): a container of
 * named integers (layer sizes), float vectors (feature normalisation) and
 * float tensors (weights), written with msgpack-c's packer and read with
 * msgpack_unpack_next. The format is described in attn.h.
 *
 * Invariants of attn_model_file_t: names are non-empty, NUL-terminated,
 * shorter than ATTN_MODEL_NAME_MAX and unique within their kind; each kind
 * holds at most ATTN_MODEL_MAX_ENTRIES entries; a tensor's n is the product
 * of its shape, at most ATTN_MODEL_MAX_ELEMS. So whatever can be saved can
 * be loaded.
 *
 * Loading never trusts the file. msgpack-c allocates from the counts a
 * container declares (msgpack-c issue #1013), so before msgpack-c sees the
 * bytes, a walker checks the whole file structurally: every declared length
 * fits in the bytes left, every container's count is under a cap and within
 * the bytes left (each entry takes at least one byte), nesting is shallow,
 * and the total number of objects is bounded. Only then is the body
 * unpacked, its SHA-256 checked (format version 2), and its schema checked
 * field by field.
 */
#include <errno.h>
#include <msgpack.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attention/attn.h"

/* The file's first 11 bytes: the msgpack fixstr "weft-model". */
static const char magic_bytes[] = "\xaa" ATTN_MODEL_MAGIC;
#define MAGIC_LEN (sizeof magic_bytes - 1)

/* The body's last entry, as weft writes it: the fixstr key "sha256", a bin 8
 * header of 32 bytes, and the SHA-256 of every byte of the file before the
 * key. Being last, it is the file's last DIGEST_TRAILER bytes, so
 * `head -c -41 FILE | sha256sum` recomputes it. */
#define DIGEST_KEY "sha256"
#define DIGEST_LEN 32
static const char digest_head[] = "\xa6" DIGEST_KEY "\xc4\x20";
#define DIGEST_HEAD_LEN (sizeof digest_head - 1)
#define DIGEST_TRAILER (DIGEST_HEAD_LEN + DIGEST_LEN)

#define MAX_DEPTH 8            /* body > tensors > tensor > shape: 4 used */
#define MAX_OBJECTS ((size_t)1 << 20) /* msgpack objects in a file: bounds msgpack-c's zone */

const char *const attn_model_net_int_names[ATTN_N_NET_INTS] = {
/* NOLINTNEXTLINE(bugprone-macro-parentheses): an initializer */
#define ATTN_INT_NAME(id, name) [ATTN_INT_##id] = name,
    ATTN_MODEL_NET_INTS(ATTN_INT_NAME)
#undef ATTN_INT_NAME
};

/* ------------------------------------------------------------ container */

void attn_model_init(attn_model_file_t *mf) { memset(mf, 0, sizeof *mf); }

void attn_model_destroy(attn_model_file_t *mf)
{
    for (size_t i = 0; i < mf->n_vecs; i++)
        free(mf->vecs[i].data);
    for (size_t i = 0; i < mf->n_tensors; i++)
        free(mf->tensors[i].data);
    free(mf->ints);
    free(mf->vecs);
    free(mf->tensors);
    memset(mf, 0, sizeof *mf);
}

/* EINVAL unless name [len] (not necessarily NUL-terminated) is 1 ..
 * ATTN_MODEL_NAME_MAX-1 bytes without a NUL. */
static weft_err_t check_name(const char *name, size_t len, const char *kind)
{
    if (len == 0)
        return weft_fail(WEFT_EINVAL, "%s name is empty", kind);
    if (memchr(name, '\0', len))
        return weft_fail(WEFT_EINVAL, "%s name contains a NUL byte", kind);
    if (len >= ATTN_MODEL_NAME_MAX)
        return weft_fail(WEFT_EINVAL, "%s name \"%.24s...\" is %zu bytes, expected at most %d",
                         kind, name, len, ATTN_MODEL_NAME_MAX - 1);
    return WEFT_OK;
}

const attn_model_int_t *attn_model_find_int(const attn_model_file_t *mf, const char *name)
{
    for (size_t i = 0; i < mf->n_ints; i++)
        if (strcmp(mf->ints[i].name, name) == 0)
            return &mf->ints[i];
    return NULL;
}

const attn_model_vec_t *attn_model_find_vector(const attn_model_file_t *mf, const char *name)
{
    for (size_t i = 0; i < mf->n_vecs; i++)
        if (strcmp(mf->vecs[i].name, name) == 0)
            return &mf->vecs[i];
    return NULL;
}

const attn_model_tensor_t *attn_model_find_tensor(const attn_model_file_t *mf, const char *name)
{
    for (size_t i = 0; i < mf->n_tensors; i++)
        if (strcmp(mf->tensors[i].name, name) == 0)
            return &mf->tensors[i];
    return NULL;
}

weft_err_t attn_model_get_int(const attn_model_file_t *mf, const char *name, int64_t *value)
{
    const attn_model_int_t *e = attn_model_find_int(mf, name);
    if (!e)
        return weft_fail(WEFT_ENOTFOUND, "model has no integer \"%s\"", name);
    *value = e->value;
    return WEFT_OK;
}

/* Room for one more entry in an array of n (capacity *cap); EINVAL at the
 * entry cap. */
static weft_err_t grow_entries(void **arr, size_t *cap, size_t n, size_t size, const char *kind)
{
    if (n >= ATTN_MODEL_MAX_ENTRIES)
        return weft_fail(WEFT_EINVAL, "more than %d %s entries", ATTN_MODEL_MAX_ENTRIES, kind);
    return weft_grow(arr, cap, n + 1, size);
}

weft_err_t attn_model_set_int(attn_model_file_t *mf, const char *name, int64_t value)
{
    weft_err_t err = check_name(name, strlen(name), "integer");
    if (err)
        return err;
    attn_model_int_t *e = (attn_model_int_t *)attn_model_find_int(mf, name);
    if (!e) {
        err = grow_entries((void **)&mf->ints, &mf->cap_ints, mf->n_ints, sizeof *mf->ints,
                           "integer");
        if (err)
            return err;
        e = &mf->ints[mf->n_ints++];
        memset(e, 0, sizeof *e);
        strcpy(e->name, name);
    }
    e->value = value;
    return WEFT_OK;
}

/* Adds or replaces a vector, taking ownership of data [n] (freed on error). */
static weft_err_t put_vector(attn_model_file_t *mf, const char *name, float *data, size_t n)
{
    attn_model_vec_t *e = (attn_model_vec_t *)attn_model_find_vector(mf, name);
    if (!e) {
        weft_err_t err = grow_entries((void **)&mf->vecs, &mf->cap_vecs, mf->n_vecs,
                                      sizeof *mf->vecs, "vector");
        if (err) {
            free(data);
            return err;
        }
        e = &mf->vecs[mf->n_vecs++];
        memset(e, 0, sizeof *e);
        strcpy(e->name, name);
    }
    free(e->data);
    e->data = data;
    e->n = n;
    return WEFT_OK;
}

/* Adds or replaces a tensor, taking ownership of data (freed on error). */
static weft_err_t put_tensor(attn_model_file_t *mf, const char *name, size_t ndim,
                             const size_t *shape, size_t n, float *data)
{
    attn_model_tensor_t *e = (attn_model_tensor_t *)attn_model_find_tensor(mf, name);
    if (!e) {
        weft_err_t err = grow_entries((void **)&mf->tensors, &mf->cap_tensors, mf->n_tensors,
                                      sizeof *mf->tensors, "tensor");
        if (err) {
            free(data);
            return err;
        }
        e = &mf->tensors[mf->n_tensors++];
        memset(e, 0, sizeof *e);
        strcpy(e->name, name);
    }
    free(e->data);
    e->data = data;
    e->n = n;
    e->ndim = ndim;
    memset(e->shape, 0, sizeof e->shape);
    memcpy(e->shape, shape, ndim * sizeof *shape);
    return WEFT_OK;
}

static float *copy_floats(const float *src, size_t n)
{
    float *d = weft_calloc(n, sizeof *d);
    if (d && n)
        memcpy(d, src, n * sizeof *d);
    return d;
}

weft_err_t attn_model_set_vector(attn_model_file_t *mf, const char *name, const float *data,
                                 size_t n)
{
    weft_err_t err = check_name(name, strlen(name), "vector");
    if (err)
        return err;
    if (n > ATTN_MODEL_MAX_ELEMS)
        return weft_fail(WEFT_EINVAL, "vector \"%s\" has %zu floats, expected at most %zu", name,
                         n, ATTN_MODEL_MAX_ELEMS);
    float *d = copy_floats(data, n);
    if (!d)
        return weft_fail(WEFT_ENOMEM, "vector \"%s\": cannot allocate %zu floats", name, n);
    return put_vector(mf, name, d, n);
}

/* Product of shape[0..ndim) into *n; EINVAL for 0 or too many dimensions,
 * a zero dimension, or a product over the cap (checked as it grows, so it
 * cannot overflow). */
static weft_err_t shape_elems(const char *name, size_t ndim, const size_t *shape, size_t *n)
{
    if (ndim == 0 || ndim > ATTN_MODEL_MAX_DIMS)
        return weft_fail(WEFT_EINVAL, "tensor \"%s\" has %zu dimensions, expected 1..%d", name,
                         ndim, ATTN_MODEL_MAX_DIMS);
    size_t p = 1;
    for (size_t d = 0; d < ndim; d++) {
        if (shape[d] == 0)
            return weft_fail(WEFT_EINVAL, "tensor \"%s\": dimension %zu is 0, expected >= 1", name,
                             d);
        if (shape[d] > ATTN_MODEL_MAX_ELEMS / p)
            return weft_fail(WEFT_EINVAL,
                             "tensor \"%s\": shape holds more than %zu floats (dimension %zu "
                             "is %zu)", name, ATTN_MODEL_MAX_ELEMS, d, shape[d]);
        p *= shape[d];
    }
    *n = p;
    return WEFT_OK;
}

weft_err_t attn_model_set_tensor(attn_model_file_t *mf, const char *name, size_t ndim,
                                 const size_t *shape, const float *data)
{
    size_t n;
    weft_err_t err = check_name(name, strlen(name), "tensor");
    if (!err)
        err = shape_elems(name, ndim, shape, &n);
    if (err)
        return err;
    float *d = copy_floats(data, n);
    if (!d)
        return weft_fail(WEFT_ENOMEM, "tensor \"%s\": cannot allocate %zu floats", name, n);
    return put_tensor(mf, name, ndim, shape, n, d);
}

void attn_model_dims_str(char *buf, size_t len, size_t ndim, const size_t *dims)
{
    size_t k = (size_t)snprintf(buf, len, "[");
    for (size_t d = 0; d < ndim && k < len; d++)
        k += (size_t)snprintf(buf + k, len - k, "%s%zu", d ? ", " : "", dims[d]);
    if (k < len)
        snprintf(buf + k, len - k, "]");
}

weft_err_t attn_model_set_block(attn_model_file_t *mf, const char *prefix,
                                const weft_real_t *memory, size_t n, attn_model_block_fn tensor,
                                const void *cfg)
{
    attn_model_block_tensor_t t;
    size_t biggest = 0;
    for (size_t i = 0; i < n; i++) {
        tensor(cfg, i, &t);
        biggest = t.size > biggest ? t.size : biggest;
    }
    float *tmp = weft_calloc(biggest, sizeof *tmp);
    if (!tmp)
        return weft_fail(WEFT_ENOMEM, "%s: cannot allocate %zu floats", prefix, biggest);
    weft_err_t err = WEFT_OK;
    for (size_t i = 0; i < n && !err; i++) {
        tensor(cfg, i, &t);
        for (size_t k = 0; k < t.size; k++)
            tmp[k] = (float)memory[t.offset + k];
        char name[ATTN_MODEL_NAME_MAX];
        snprintf(name, sizeof name, "%s.%s", prefix, t.name);
        err = attn_model_set_tensor(mf, name, t.ndim, t.shape, tmp);
    }
    free(tmp);
    return err;
}

weft_err_t attn_model_get_block(const attn_model_file_t *mf, const char *prefix,
                                weft_real_t *memory, size_t n, attn_model_block_fn tensor,
                                const void *cfg)
{
    for (int write = 0; write < 2; write++)
        for (size_t i = 0; i < n; i++) {
            attn_model_block_tensor_t t;
            tensor(cfg, i, &t);
            char name[ATTN_MODEL_NAME_MAX];
            snprintf(name, sizeof name, "%s.%s", prefix, t.name);
            const attn_model_tensor_t *mt = attn_model_find_tensor(mf, name);
            if (!mt)
                return weft_fail(WEFT_ENOTFOUND, "model has no tensor %s", name);
            if (mt->ndim != t.ndim || memcmp(mt->shape, t.shape, t.ndim * sizeof *t.shape)) {
                char have_s[128], want_s[64];
                attn_model_dims_str(have_s, sizeof have_s, mt->ndim, mt->shape);
                attn_model_dims_str(want_s, sizeof want_s, t.ndim, t.shape);
                return weft_fail(WEFT_EINVAL, "tensor %s has shape %s in the model, expected %s",
                                 name, have_s, want_s);
            }
            if (write)
                for (size_t k = 0; k < t.size; k++)
                    memory[t.offset + k] = (weft_real_t)mt->data[k];
        }
    return WEFT_OK;
}

/* ---------------------------------------------------------------- write */

static int pack_cstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n);
}

/* float32 little-endian whatever the host, in chunks (no allocation). */
static int pack_floats(msgpack_packer *pk, const float *d, size_t n)
{
    if (msgpack_pack_bin(pk, n * 4))
        return -1;
    unsigned char buf[4096];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &d[i], 4);
        buf[k++] = (unsigned char)(u & 0xff);
        buf[k++] = (unsigned char)((u >> 8) & 0xff);
        buf[k++] = (unsigned char)((u >> 16) & 0xff);
        buf[k++] = (unsigned char)(u >> 24);
        if (k == sizeof buf) {
            if (msgpack_pack_bin_body(pk, buf, k))
                return -1;
            k = 0;
        }
    }
    return k ? msgpack_pack_bin_body(pk, buf, k) : 0;
}

static int pack_model(msgpack_packer *pk, const attn_model_file_t *mf)
{
    int rc = pack_cstr(pk, ATTN_MODEL_MAGIC);
    rc = rc || msgpack_pack_uint32(pk, ATTN_MODEL_VERSION);
    rc = rc || msgpack_pack_map(pk, 4); /* the fourth, "sha256", written by write_model */
    rc = rc || pack_cstr(pk, "config") || msgpack_pack_map(pk, mf->n_ints);
    for (size_t i = 0; i < mf->n_ints && !rc; i++)
        rc = pack_cstr(pk, mf->ints[i].name) || msgpack_pack_int64(pk, mf->ints[i].value);
    rc = rc || pack_cstr(pk, "vectors") || msgpack_pack_map(pk, mf->n_vecs);
    for (size_t i = 0; i < mf->n_vecs && !rc; i++)
        rc = pack_cstr(pk, mf->vecs[i].name) || pack_floats(pk, mf->vecs[i].data, mf->vecs[i].n);
    rc = rc || pack_cstr(pk, "tensors") || msgpack_pack_array(pk, mf->n_tensors);
    for (size_t i = 0; i < mf->n_tensors && !rc; i++) {
        const attn_model_tensor_t *t = &mf->tensors[i];
        rc = msgpack_pack_map(pk, 3) || pack_cstr(pk, "name") || pack_cstr(pk, t->name);
        rc = rc || pack_cstr(pk, "shape") || msgpack_pack_array(pk, t->ndim);
        for (size_t d = 0; d < t->ndim && !rc; d++)
            rc = msgpack_pack_uint64(pk, t->shape[d]);
        rc = rc || pack_cstr(pk, "data") || pack_floats(pk, t->data, t->n);
    }
    return rc;
}

/* Where pack_model's bytes go: the stream, and the digest of the file. */
typedef struct {
    FILE *f;
    EVP_MD_CTX *md;
} digest_sink_t;

static int sink_write(void *data, const char *buf, size_t len)
{
    digest_sink_t *s = data;
    if (EVP_DigestUpdate(s->md, buf, len) != 1)
        return -1;
    return fwrite(buf, 1, len, s->f) == len ? 0 : -1;
}

/* pack_model into the stream f (a weft_write_fn), then the "sha256" entry
 * over what was written. */
static weft_err_t write_model(FILE *f, const void *arg)
{
    digest_sink_t sink = {f, EVP_MD_CTX_new()};
    if (!sink.md || EVP_DigestInit_ex(sink.md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(sink.md);
        return weft_fail(WEFT_ENOMEM, "cannot start the model's SHA-256");
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sink, sink_write);
    errno = 0;
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    bool ok = pack_model(&pk, arg) == 0 && EVP_DigestFinal_ex(sink.md, sum, &n) == 1 &&
              n == DIGEST_LEN && fwrite(digest_head, 1, DIGEST_HEAD_LEN, f) == DIGEST_HEAD_LEN &&
              fwrite(sum, 1, DIGEST_LEN, f) == DIGEST_LEN;
    EVP_MD_CTX_free(sink.md);
    if (!ok)
        return weft_fail(WEFT_EIO, "cannot write: %s", strerror(errno ? errno : EIO));
    return WEFT_OK;
}

weft_err_t attn_model_save(const char *path, const attn_model_file_t *mf)
{
    return weft_save_file(path, write_model, mf);
}

/* ----------------------------------------------------------------- read */

/* Reads the whole file (at most ATTN_MODEL_MAX_FILE bytes). */
static weft_err_t read_file(const char *path, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    /* a FIFO's open waits for a writer: weft serve --model sat there,
       silent, and it is read more than once (its sha256 before and after) */
    const char *peer = weft_waits_for_peer(path);
    if (peer)
        return weft_fail(WEFT_EIO, "is %s, expected a model file", peer);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return weft_fail(WEFT_EIO, "cannot open: %s", strerror(errno));
    weft_err_t err = WEFT_OK;
    off_t size = -1;
    struct stat sb;
    if (fstat(fileno(fp), &sb) == 0 && !S_ISREG(sb.st_mode)) {
        /* a directory opens for reading, and seeking reports a huge size */
        err = weft_fail(WEFT_EIO, "is %s, expected a model file",
                        S_ISDIR(sb.st_mode) ? "a directory" : "not a regular file");
        goto cleanup;
    }
    if (fseeko(fp, 0, SEEK_END) == 0)
        size = ftello(fp);
    if (size < 0 || fseeko(fp, 0, SEEK_SET) != 0) {
        err = weft_fail(WEFT_EIO, "cannot find its size: %s", strerror(errno));
        goto cleanup;
    }
    if ((unsigned long long)size > ATTN_MODEL_MAX_FILE) {
        err = weft_fail(WEFT_EINVAL, "%lld bytes, over the cap of %zu for a model file",
                        (long long)size, ATTN_MODEL_MAX_FILE);
        goto cleanup;
    }
    *buf = malloc((size_t)size ? (size_t)size : 1);
    if (!*buf) {
        err = weft_fail(WEFT_ENOMEM, "cannot allocate %lld bytes to read it", (long long)size);
        goto cleanup;
    }
    if (size > 0 && fread(*buf, 1, (size_t)size, fp) != (size_t)size) {
        err = weft_fail(WEFT_EIO, "cannot read %lld bytes: %s", (long long)size,
                        ferror(fp) ? strerror(errno) : "file shrank while reading");
        goto cleanup;
    }
    *len = (size_t)size;
cleanup:
    fclose(fp);
    if (err) {
        free(*buf);
        *buf = NULL;
    }
    return err;
}

/* The structural walker over raw msgpack bytes. */
typedef struct {
    const unsigned char *b; /* [len] the file */
    size_t len;
    size_t pos;     /* next byte */
    size_t objects; /* objects seen so far */
    const unsigned char *key; /* the string key of the map value walked next, */
    size_t key_len;           /* or NULL: said in the value's caps */
} walk_t;

/* Reads a k-byte big-endian length field of the object starting at `at`. */
static weft_err_t walk_len(walk_t *w, size_t k, size_t at, const char *what, uint64_t *v)
{
    if (w->len - w->pos < k)
        return weft_fail(WEFT_ETRUNC, "file ends at byte %zu inside the header of a %s at byte %zu",
                         w->len, what, at);
    *v = weft_read_be(w->b + w->pos, k);
    w->pos += k;
    return WEFT_OK;
}

/* Skips `bytes` payload bytes of the object at `at`. */
static weft_err_t walk_payload(walk_t *w, uint64_t bytes, size_t at, const char *what)
{
    if (bytes > w->len - w->pos)
        return weft_fail(WEFT_ETRUNC,
                         "file ends at byte %zu inside a %s of %llu bytes declared at byte %zu",
                         w->len, what, (unsigned long long)bytes, at);
    w->pos += (size_t)bytes;
    return WEFT_OK;
}

/* Bytes of the longest bin a model file may hold: every bin the schema
 * reads is a vector's or tensor's floats, and no file is larger. */
#define MAX_BIN_BYTES (4 * ATTN_MODEL_MAX_ELEMS)

/* Whether a value keyed `key` in the body map (so walked at depth 1) is one
 * of the three containers of at most ATTN_MODEL_MAX_ENTRIES entries. */
static bool is_entry_container(const unsigned char *key, size_t len, int depth)
{
    static const char *const names[] = {"config", "vectors", "tensors"};
    for (size_t i = 0; key && depth == 1 && i < 3; i++)
        if (len == strlen(names[i]) && !memcmp(key, names[i], len))
            return true;
    return false;
}

/* A declared size over a cap, said as that (EINVAL), before the bytes left
 * are counted: a count both over its cap and past the file's end was
 * reported as a truncation, hiding the real fault. */
static weft_err_t over_cap(const walk_t *w, size_t at, const char *what, uint64_t n,
                           uint64_t cap, const char *unit, const char *why)
{
    char named[96] = "";
    if (w->key)
        snprintf(named, sizeof named, "\"%.*s\": ", (int)(w->key_len > 63 ? 63 : w->key_len),
                 (const char *)w->key);
    return weft_fail(WEFT_EINVAL, "byte %zu: %s%s %s of %llu %s declared, over the cap of %llu "
                     "(%s)", at, named, strchr("aeiou", what[0]) ? "an" : "a", what,
                     (unsigned long long)n, unit, (unsigned long long)cap, why);
}

/* Checks one complete object at w->pos and moves past it. */
static weft_err_t walk_object(walk_t *w, int depth)
{
    size_t at = w->pos;
    if (depth > MAX_DEPTH)
        return weft_fail(WEFT_EPARSE, "byte %zu: objects nested deeper than %d", at, MAX_DEPTH);
    if (w->pos >= w->len)
        return weft_fail(WEFT_ETRUNC, "file ends at byte %zu where an object should start",
                         w->len);
    if (++w->objects > MAX_OBJECTS)
        return weft_fail(WEFT_EINVAL, "byte %zu: more than %zu msgpack objects in the file", at,
                         MAX_OBJECTS);
    unsigned t = w->b[w->pos++];
    uint64_t n = 0, entries;
    bool map = false;
    const char *what;
    weft_err_t err;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
        return WEFT_OK; /* fixint, nil, bool */
    if (t >= 0xa0 && t <= 0xbf)
        return walk_payload(w, t & 0x1f, at, "string");
    if (t >= 0x80 && t <= 0x9f) {
        n = t & 0x0f;
        map = t <= 0x8f;
        what = map ? "map" : "array";
        entries = map ? 2 * n : n;
        goto container;
    }
    switch (t) {
    case 0xc1: return weft_fail(WEFT_EPARSE, "byte %zu: 0xc1 is not a msgpack type", at);
    case 0xc4: case 0xc5: case 0xc6: /* bin 8/16/32 */
        if ((err = walk_len(w, (size_t)1 << (t - 0xc4), at, "bin", &n)))
            return err;
        if (n > MAX_BIN_BYTES)
            return over_cap(w, at, "bin", n, MAX_BIN_BYTES, "bytes",
                            "2^28 floats, the most a vector or tensor holds");
        return walk_payload(w, n, at, "bin");
    case 0xd9: case 0xda: case 0xdb: /* str 8/16/32 */
        if ((err = walk_len(w, (size_t)1 << (t - 0xd9), at, "string", &n)))
            return err;
        return walk_payload(w, n, at, "string");
    case 0xc7: case 0xc8: case 0xc9: /* ext 8/16/32: length, type byte, data */
        if ((err = walk_len(w, (size_t)1 << (t - 0xc7), at, "ext", &n)))
            return err;
        return walk_payload(w, n + 1, at, "ext");
    case 0xca: return walk_payload(w, 4, at, "float32");
    case 0xcb: return walk_payload(w, 8, at, "float64");
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
        return walk_payload(w, (uint64_t)1 << (t - 0xcc), at, "uint");
    case 0xd0: case 0xd1: case 0xd2: case 0xd3:
        return walk_payload(w, (uint64_t)1 << (t - 0xd0), at, "int");
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext: type byte + 1..16 */
        return walk_payload(w, 1 + ((uint64_t)1 << (t - 0xd4)), at, "fixext");
    case 0xdc: case 0xdd:
        what = "array";
        if ((err = walk_len(w, t == 0xdc ? 2 : 4, at, what, &n)))
            return err;
        entries = n;
        goto container;
    case 0xde: case 0xdf:
        what = "map";
        map = true;
        if ((err = walk_len(w, t == 0xde ? 2 : 4, at, what, &n)))
            return err;
        entries = 2 * n;
        goto container;
    default:
        return weft_fail(WEFT_EINTERNAL, "byte %zu: unhandled msgpack type 0x%02x", at, t);
    }
container:
    /* the count is checked before anything loops over or allocates for it,
       against the caps first */
    if (n > MAX_OBJECTS)
        return weft_fail(WEFT_EINVAL, "byte %zu: %s of %llu entries, over the cap of %zu", at, what,
                         (unsigned long long)n, MAX_OBJECTS);
    if (is_entry_container(w->key, w->key_len, depth) && n > ATTN_MODEL_MAX_ENTRIES)
        return over_cap(w, at, what, n, ATTN_MODEL_MAX_ENTRIES, "entries",
                        "of each kind of entry, ints, vectors and tensors");
    if (entries > w->len - w->pos)
        return weft_fail(WEFT_ETRUNC,
                         "byte %zu: %s declares %llu entries but the file ends %zu bytes later", at,
                         what, (unsigned long long)n, w->len - w->pos);
    for (uint64_t i = 0; i < entries; i++) {
        size_t key_at = w->pos;
        if (!map || i % 2 == 0)
            w->key = NULL; /* a map's value keeps its key, set below */
        if ((err = walk_object(w, depth + 1)))
            return err;
        /* a map's string key names the value after it (fixstr: the keys
           the schema reads) */
        unsigned k = w->b[key_at];
        if (map && i % 2 == 0 && k >= 0xa0 && k <= 0xbf) {
            w->key = w->b + key_at + 1;
            w->key_len = k & 0x1f;
        }
    }
    w->key = NULL;
    return WEFT_OK;
}

/* A msgpack type with its article, for "X is <this>, expected ...". */
static const char *type_name(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "an integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "a float";
    case MSGPACK_OBJECT_STR: return "a string";
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    case MSGPACK_OBJECT_BIN: return "a bin";
    case MSGPACK_OBJECT_EXT: return "an ext";
    }
    return "of an unknown type";
}

/* Copies a msgpack string into a name buffer, checking it. */
static weft_err_t get_name(const msgpack_object *o, char *name, const char *kind)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return weft_fail(WEFT_EPARSE, "%s name is %s, expected a string", kind,
                         type_name(o->type));
    size_t len = o->via.str.size;
    weft_err_t err = check_name(o->via.str.ptr, len, kind);
    if (err)
        return err;
    memcpy(name, o->via.str.ptr, len);
    name[len] = '\0';
    return WEFT_OK;
}

static int key_is(const msgpack_object *o, const char *s)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
           memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

/* Decodes a bin of float32 little-endian into a new array of n floats. */
static weft_err_t get_floats(const msgpack_object *o, size_t n, float **out, const char *kind,
                             const char *name)
{
    *out = NULL;
    if (o->type != MSGPACK_OBJECT_BIN)
        return weft_fail(WEFT_EPARSE, "%s \"%s\": data is %s, expected bin", kind, name,
                         type_name(o->type));
    if (o->via.bin.size != 4 * (uint64_t)n)
        return weft_fail(WEFT_EINVAL,
                         "%s \"%s\": %zu floats (%zu bytes) expected, data has %u bytes", kind,
                         name, n, 4 * n, (unsigned)o->via.bin.size);
    float *d = weft_calloc(n, sizeof *d);
    if (!d)
        return weft_fail(WEFT_ENOMEM, "%s \"%s\": cannot allocate %zu floats", kind, name, n);
    const unsigned char *p = (const unsigned char *)o->via.bin.ptr;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                     (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
        memcpy(&d[i], &u, 4);
    }
    *out = d;
    return WEFT_OK;
}

/* The "config" or "vectors" map o: EPARSE when it is no map, EINVAL over
 * ATTN_MODEL_MAX_ENTRIES entries. */
static weft_err_t check_section_map(const msgpack_object *o, const char *section)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return weft_fail(WEFT_EPARSE, "\"%s\" is %s, expected a map", section,
                         type_name(o->type));
    if (o->via.map.size > ATTN_MODEL_MAX_ENTRIES)
        return weft_fail(WEFT_EINVAL, "\"%s\" has %u entries, over the cap of %d", section,
                         (unsigned)o->via.map.size, ATTN_MODEL_MAX_ENTRIES);
    return WEFT_OK;
}

static weft_err_t read_config(const msgpack_object *o, attn_model_file_t *mf)
{
    weft_err_t err = check_section_map(o, "config");
    if (err)
        return err;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        char name[ATTN_MODEL_NAME_MAX];
        err = get_name(&kv->key, name, "config");
        if (err)
            return err;
        if (attn_model_find_int(mf, name))
            return weft_fail(WEFT_EPARSE, "config \"%s\" appears twice", name);
        int64_t v;
        if (kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER && kv->val.via.u64 <= INT64_MAX)
            v = (int64_t)kv->val.via.u64;
        else if (kv->val.type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            v = kv->val.via.i64;
        else
            return weft_fail(WEFT_EPARSE,
                             "config \"%s\" is %s, expected a 64-bit signed integer", name,
                             kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER
                                 ? "a too large integer"
                                 : type_name(kv->val.type));
        if ((err = attn_model_set_int(mf, name, v)))
            return err;
    }
    return WEFT_OK;
}

static weft_err_t read_vectors(const msgpack_object *o, attn_model_file_t *mf)
{
    weft_err_t err = check_section_map(o, "vectors");
    if (err)
        return err;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        char name[ATTN_MODEL_NAME_MAX];
        err = get_name(&kv->key, name, "vector");
        if (err)
            return err;
        if (attn_model_find_vector(mf, name))
            return weft_fail(WEFT_EPARSE, "vector \"%s\" appears twice", name);
        if (kv->val.type == MSGPACK_OBJECT_BIN && kv->val.via.bin.size % 4 != 0)
            return weft_fail(WEFT_EINVAL, "vector \"%s\": %u bytes is not a whole number of floats",
                             name, (unsigned)kv->val.via.bin.size);
        size_t n = kv->val.type == MSGPACK_OBJECT_BIN ? kv->val.via.bin.size / 4 : 0;
        if (n > ATTN_MODEL_MAX_ELEMS)
            return weft_fail(WEFT_EINVAL, "vector \"%s\" has %zu floats, over the cap of %zu", name,
                             n, ATTN_MODEL_MAX_ELEMS);
        float *d;
        if ((err = get_floats(&kv->val, n, &d, "vector", name)))
            return err;
        if ((err = put_vector(mf, name, d, n)))
            return err;
    }
    return WEFT_OK;
}

/* Reads a tensor's shape array into ndim, shape[]; errors name the tensor
 * (or its index when its name is unknown). */
static weft_err_t read_shape(const msgpack_object *oshape, const char *name, size_t index,
                             size_t *ndim, size_t shape[ATTN_MODEL_MAX_DIMS])
{
    char who[ATTN_MODEL_NAME_MAX + 16];
    if (name)
        snprintf(who, sizeof who, "tensor \"%s\"", name);
    else
        snprintf(who, sizeof who, "tensor %zu", index);
    if (oshape->type != MSGPACK_OBJECT_ARRAY)
        return weft_fail(WEFT_EPARSE, "%s: shape is %s, expected an array", who,
                         type_name(oshape->type));
    *ndim = oshape->via.array.size;
    if (*ndim == 0 || *ndim > ATTN_MODEL_MAX_DIMS)
        return weft_fail(WEFT_EINVAL, "%s has %zu dimensions, expected 1..%d", who, *ndim,
                         ATTN_MODEL_MAX_DIMS);
    for (size_t d = 0; d < *ndim; d++) {
        const msgpack_object *od = &oshape->via.array.ptr[d];
        if (od->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return weft_fail(WEFT_EPARSE, "%s: dimension %zu is %s, expected a positive integer",
                             who, d,
                             od->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? "a negative integer"
                                                                         : type_name(od->type));
        /* clamp so the cap check in shape_elems reports it without overflow */
        shape[d] = od->via.u64 > ATTN_MODEL_MAX_ELEMS ? ATTN_MODEL_MAX_ELEMS + 1
                                                      : (size_t)od->via.u64;
    }
    return WEFT_OK;
}

static weft_err_t read_tensor(const msgpack_object *o, size_t index, attn_model_file_t *mf)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return weft_fail(WEFT_EPARSE, "tensor %zu is %s, expected a map", index,
                         type_name(o->type));
    const msgpack_object *oname = NULL, *oshape = NULL, *odata = NULL;
    const char *bad_key = NULL; /* the first key that is unknown or repeated */
    for (uint32_t i = 0; i < o->via.map.size && !bad_key; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        const msgpack_object **slot = key_is(&kv->key, "name")    ? &oname
                                      : key_is(&kv->key, "shape") ? &oshape
                                      : key_is(&kv->key, "data")  ? &odata
                                                                  : NULL;
        if (!slot)
            bad_key = "unknown key (expected name, shape, data)";
        else if (*slot)
            bad_key = "a key appears twice";
        else
            *slot = &kv->val;
    }
    /* the entries before a bad key are checked first: a damaged byte in
       one (a dimension turned into a string swallows the bytes after it)
       is where the file went wrong, and the bad key only its debris */
    char name[ATTN_MODEL_NAME_MAX];
    weft_err_t err;
    if (oname && (err = get_name(oname, name, "tensor")))
        return weft_wrap(err, "tensor %zu: ", index);
    size_t ndim = 0, shape[ATTN_MODEL_MAX_DIMS], n;
    if (oshape && (err = read_shape(oshape, oname ? name : NULL, index, &ndim, shape)))
        return err;
    if (bad_key)
        return oname ? weft_fail(WEFT_EPARSE, "tensor \"%s\": %s", name, bad_key)
                     : weft_fail(WEFT_EPARSE, "tensor %zu: %s", index, bad_key);
    if (!oname || !oshape || !odata)
        return weft_fail(WEFT_EPARSE, "tensor %zu: missing \"%s\"", index,
                         !oname ? "name" : !oshape ? "shape" : "data");
    if (attn_model_find_tensor(mf, name))
        return weft_fail(WEFT_EPARSE, "tensor \"%s\" appears twice", name);
    if ((err = shape_elems(name, ndim, shape, &n)))
        return err;
    float *data;
    if ((err = get_floats(odata, n, &data, "tensor", name)))
        return err;
    return put_tensor(mf, name, ndim, shape, n, data);
}

static weft_err_t read_tensors(const msgpack_object *o, attn_model_file_t *mf)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return weft_fail(WEFT_EPARSE, "\"tensors\" is %s, expected an array", type_name(o->type));
    if (o->via.array.size > ATTN_MODEL_MAX_ENTRIES)
        return weft_fail(WEFT_EINVAL, "\"tensors\" has %u entries, over the cap of %d",
                         (unsigned)o->via.array.size, ATTN_MODEL_MAX_ENTRIES);
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        weft_err_t err = read_tensor(&o->via.array.ptr[i], i, mf);
        if (err)
            return err;
    }
    return WEFT_OK;
}

static weft_err_t read_body(const msgpack_object *o, attn_model_file_t *mf)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return weft_fail(WEFT_EPARSE, "the model body is %s, expected a map", type_name(o->type));
    const msgpack_object *sec[3] = {NULL, NULL, NULL};
    static const char *const sec_names[3] = {"config", "vectors", "tensors"};
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        for (int s = 0; s < 3; s++)
            if (key_is(&kv->key, sec_names[s])) {
                if (sec[s])
                    return weft_fail(WEFT_EPARSE, "\"%s\" appears twice", sec_names[s]);
                sec[s] = &kv->val;
            }
        /* other keys: ignored (documented in attn.h) */
    }
    for (int s = 0; s < 3; s++)
        if (!sec[s])
            return weft_fail(WEFT_EPARSE, "the model has no \"%s\"", sec_names[s]);
    weft_err_t err = read_config(sec[0], mf);
    if (!err)
        err = read_vectors(sec[1], mf);
    if (!err)
        err = read_tensors(sec[2], mf);
    return err;
}

/* Hex of the first 8 bytes of a digest, for messages. */
static void digest_hex(const unsigned char *d, char hex[2 * DIGEST_LEN + 1])
{
    for (int i = 0; i < DIGEST_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* Whether the body has the "sha256" entry (anywhere). */
static bool has_digest(const msgpack_object *body)
{
    if (body->type != MSGPACK_OBJECT_MAP)
        return false;
    for (uint32_t i = 0; i < body->via.map.size; i++)
        if (key_is(&body->via.map.ptr[i].key, DIGEST_KEY))
            return true;
    return false;
}

/* The body's "sha256" entry against the file's bytes (the unpacked body
 * and the whole file), which a version 2 file must have. */
static weft_err_t check_digest(const char *buf, size_t len, const msgpack_object *body)
{
    if (body->type != MSGPACK_OBJECT_MAP)
        return WEFT_OK; /* read_body names what it is */
    const msgpack_object_map *m = &body->via.map;
    uint32_t at = 0;
    while (at < m->size && !key_is(&m->ptr[at].key, DIGEST_KEY))
        at++;
    if (at == m->size)
        return weft_fail(WEFT_EPARSE,
                         "the model has no \"%s\" entry, which format version %d files end "
                         "with: the file is damaged or was not written by weft",
                         DIGEST_KEY, ATTN_MODEL_VERSION);
    const msgpack_object *v = &m->ptr[at].val;
    if (at + 1 != m->size || v->type != MSGPACK_OBJECT_BIN || v->via.bin.size != DIGEST_LEN ||
        len < DIGEST_TRAILER ||
        memcmp(buf + len - DIGEST_TRAILER, digest_head, DIGEST_HEAD_LEN) != 0)
        return weft_fail(WEFT_EPARSE,
                         "its \"%s\" entry is not the model's last entry of %d bytes, as weft "
                         "writes it: the file is damaged or was not written by weft",
                         DIGEST_KEY, DIGEST_LEN);
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_Digest(buf, len - DIGEST_TRAILER, sum, &n, EVP_sha256(), NULL) != 1 || n != DIGEST_LEN)
        return weft_fail(WEFT_ENOMEM, "cannot compute the model's SHA-256");
    const unsigned char *said = (const unsigned char *)buf + len - DIGEST_LEN;
    if (memcmp(sum, said, DIGEST_LEN) != 0) {
        /* whole digests: a change in the stored digest's tail would show two
           equal prefixes */
        char got[2 * DIGEST_LEN + 1], want[2 * DIGEST_LEN + 1];
        digest_hex(sum, got);
        digest_hex(said, want);
        return weft_fail(WEFT_EPARSE,
                         "checksum mismatch: the SHA-256 of its first %zu bytes is %s, its "
                         "\"%s\" entry says %s: the file is damaged (a changed byte, or an edit)",
                         len - DIGEST_TRAILER, got, DIGEST_KEY, want);
    }
    return WEFT_OK;
}

/* Unpacks the object at *off (already walked, so complete and bounded). */
static weft_err_t unpack_at(msgpack_unpacked *res, const char *buf, size_t len, size_t *off)
{
    msgpack_unpack_return r = msgpack_unpack_next(res, buf, len, off);
    if (r == MSGPACK_UNPACK_SUCCESS || r == MSGPACK_UNPACK_EXTRA_BYTES)
        return WEFT_OK;
    if (r == MSGPACK_UNPACK_NOMEM_ERROR)
        return weft_fail(WEFT_ENOMEM, "out of memory unpacking byte %zu", *off);
    if (r == MSGPACK_UNPACK_CONTINUE)
        return weft_fail(WEFT_ETRUNC, "file ends inside the object at byte %zu", *off);
    return weft_fail(WEFT_EPARSE, "malformed msgpack at byte %zu", *off);
}

static weft_err_t load_buffer(const char *buf, size_t len, attn_model_file_t *mf)
{
    if (len < MAGIC_LEN) {
        if (memcmp(buf, magic_bytes, len) == 0)
            return weft_fail(WEFT_ETRUNC, "file ends after %zu bytes, inside the magic string",
                             len);
        return weft_fail(WEFT_EPARSE, "not a weft model file (it does not start with \"%s\")",
                         ATTN_MODEL_MAGIC);
    }
    if (memcmp(buf, magic_bytes, MAGIC_LEN) != 0)
        return weft_fail(WEFT_EPARSE, "not a weft model file (it does not start with \"%s\")",
                         ATTN_MODEL_MAGIC);
    walk_t w = {(const unsigned char *)buf, len, MAGIC_LEN, 0, NULL, 0};
    weft_err_t err = WEFT_OK;
    msgpack_unpacked res;
    msgpack_unpacked_init(&res);
    size_t off = MAGIC_LEN;

    /* the version first, so a file of another version is refused as such
     * whatever its body looks like */
    WEFT_CHECK(walk_object(&w, 0));
    WEFT_CHECK(unpack_at(&res, buf, len, &off));
    const msgpack_object *v = &res.data;
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        err = weft_fail(WEFT_EVERSION,
                        "model format version %lld, this build reads versions %d and %d",
                        (long long)v->via.i64, ATTN_MODEL_VERSION_MIN, ATTN_MODEL_VERSION);
        goto cleanup;
    }
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        err = weft_fail(WEFT_EPARSE, "the format version is %s, expected an integer",
                        type_name(v->type));
        goto cleanup;
    }
    if (v->via.u64 < ATTN_MODEL_VERSION_MIN || v->via.u64 > ATTN_MODEL_VERSION) {
        err = weft_fail(WEFT_EVERSION,
                        "model format version %llu, this build reads versions %d and %d",
                        (unsigned long long)v->via.u64, ATTN_MODEL_VERSION_MIN,
                        ATTN_MODEL_VERSION);
        goto cleanup;
    }
    bool checked = v->via.u64 >= 2; /* version 1 had no checksum */
    mf->version = (unsigned)v->via.u64;

    WEFT_CHECK(walk_object(&w, 0));
    if (w.pos != len) {
        /* a damaged byte can end the structure early (a shape dimension
           turned into a string swallows what follows): the body read up
           to there usually names the entry at fault */
        attn_model_file_t probe;
        attn_model_init(&probe);
        size_t poff = off;
        err = unpack_at(&res, buf, w.pos, &poff);
        if (!err)
            err = read_body(&res.data, &probe);
        attn_model_destroy(&probe);
        if (!err)
            err = weft_fail(WEFT_EPARSE, "%zu unexpected bytes after the model's end at byte %zu",
                            len - w.pos, w.pos);
        goto cleanup;
    }
    WEFT_CHECK(unpack_at(&res, buf, len, &off));
    if (off != len) { /* the walker and msgpack-c disagree: a bug */
        err = weft_fail(WEFT_EINTERNAL, "msgpack-c stopped at byte %zu of %zu", off, len);
        goto cleanup;
    }
    /* the checksum before the schema, so damage is reported as damage */
    if (checked)
        WEFT_CHECK(check_digest(buf, len, &res.data));
    else if (has_digest(&res.data)) /* version 1 was never written with one */
        WEFT_CHECK(weft_fail(WEFT_EPARSE, "format version 1, yet a \"%s\" entry, which only "
                             "version %d files have: the version byte is damaged (or was "
                             "changed)", DIGEST_KEY, ATTN_MODEL_VERSION));
    WEFT_CHECK(read_body(&res.data, mf));
cleanup:
    msgpack_unpacked_destroy(&res);
    return err;
}

weft_err_t attn_model_load(const char *path, attn_model_file_t *mf)
{
    char *buf = NULL;
    size_t len = 0;
    attn_model_file_t tmp;
    attn_model_init(&tmp);
    weft_err_t err = read_file(path, &buf, &len);
    if (!err)
        err = load_buffer(buf, len, &tmp);
    free(buf);
    if (err) {
        attn_model_destroy(&tmp);
        return weft_wrap(err, "%s: ", path);
    }
    attn_model_destroy(mf);
    *mf = tmp;
    return WEFT_OK;
}
