/*
 * fuzz_model.c - libFuzzer target for attn_model_load() (the msgpack model
 * file, attention/attn.h). Any input either loads into a container that
 * keeps model.c's invariants (names non-empty, NUL-terminated and unique per
 * kind, counts under the caps, a tensor's n the product of its shape) and
 * survives attn_model_save + attn_model_load bit for bit, or fails with a
 * detail and leaves the caller's container untouched.
 */

#include "attention/attn.h"
#include "fuzz/fuzz_common.h"

static char save_dir[256], save_path[300];

static void remove_save_dir(void)
{
    unlink(save_path);
    rmdir(save_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_file_open(0, "model");
    /* attn_model_save writes path.tmp and renames it, so it needs a real
     * directory, not a memfd */
    const char *dir = getenv("TMPDIR");
    snprintf(save_dir, sizeof save_dir, "%s/weft-fuzz-model-XXXXXX", dir && *dir ? dir : "/tmp");
    if (!mkdtemp(save_dir)) {
        perror("fuzz: mkdtemp");
        exit(1);
    }
    snprintf(save_path, sizeof save_path, "%s/m.wmodel", save_dir);
    atexit(remove_save_dir);
    return 0;
}

static void check_name(const char *name)
{
    size_t len = strnlen(name, ATTN_MODEL_NAME_MAX);
    if (len == 0 || len >= ATTN_MODEL_NAME_MAX)
        fuzz_die("model: a name is empty or not NUL-terminated", NULL);
}

static void check_model(const attn_model_file_t *mf)
{
    if (mf->n_ints > ATTN_MODEL_MAX_ENTRIES || mf->n_vecs > ATTN_MODEL_MAX_ENTRIES ||
        mf->n_tensors > ATTN_MODEL_MAX_ENTRIES)
        fuzz_die("model: more entries than the cap", NULL);
    for (size_t i = 0; i < mf->n_ints; i++) {
        check_name(mf->ints[i].name);
        if (attn_model_find_int(mf, mf->ints[i].name) != &mf->ints[i])
            fuzz_die("model: an integer name appears twice", mf->ints[i].name);
    }
    for (size_t i = 0; i < mf->n_vecs; i++) {
        const attn_model_vec_t *v = &mf->vecs[i];
        check_name(v->name);
        if (attn_model_find_vector(mf, v->name) != v)
            fuzz_die("model: a vector name appears twice", v->name);
        if (v->n > ATTN_MODEL_MAX_ELEMS || (v->n && !v->data))
            fuzz_die("model: a vector's size or data is wrong", v->name);
    }
    for (size_t i = 0; i < mf->n_tensors; i++) {
        const attn_model_tensor_t *t = &mf->tensors[i];
        check_name(t->name);
        if (attn_model_find_tensor(mf, t->name) != t)
            fuzz_die("model: a tensor name appears twice", t->name);
        if (t->ndim < 1 || t->ndim > ATTN_MODEL_MAX_DIMS)
            fuzz_die("model: a tensor's ndim is out of range", t->name);
        size_t n = 1;
        for (size_t d = 0; d < t->ndim; d++) {
            if (t->shape[d] < 1 || t->shape[d] > ATTN_MODEL_MAX_ELEMS)
                fuzz_die("model: a tensor dimension is out of range", t->name);
            n *= t->shape[d];
            if (n > ATTN_MODEL_MAX_ELEMS)
                fuzz_die("model: a tensor holds more than the cap", t->name);
        }
        if (n != t->n || !t->data)
            fuzz_die("model: a tensor's n is not the product of its shape", t->name);
    }
}

static void check_same(const attn_model_file_t *a, const attn_model_file_t *b)
{
    if (a->n_ints != b->n_ints || a->n_vecs != b->n_vecs || a->n_tensors != b->n_tensors)
        fuzz_die("model round trip: counts differ", NULL);
    for (size_t i = 0; i < a->n_ints; i++)
        if (strcmp(a->ints[i].name, b->ints[i].name) || a->ints[i].value != b->ints[i].value)
            fuzz_die("model round trip: an integer differs", a->ints[i].name);
    for (size_t i = 0; i < a->n_vecs; i++) {
        const attn_model_vec_t *x = &a->vecs[i], *y = &b->vecs[i];
        if (strcmp(x->name, y->name) || x->n != y->n ||
            (x->n && memcmp(x->data, y->data, x->n * sizeof *x->data)))
            fuzz_die("model round trip: a vector differs", x->name);
    }
    for (size_t i = 0; i < a->n_tensors; i++) {
        const attn_model_tensor_t *x = &a->tensors[i], *y = &b->tensors[i];
        if (strcmp(x->name, y->name) || x->ndim != y->ndim || x->n != y->n ||
            memcmp(x->shape, y->shape, sizeof x->shape) ||
            memcmp(x->data, y->data, x->n * sizeof *x->data))
            fuzz_die("model round trip: a tensor differs", x->name);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file_set(0, data, size);
    attn_model_file_t mf;
    attn_model_init(&mf);
    /* a sentinel: a failed load must leave the caller's container as it was */
    if (attn_model_set_int(&mf, "fuzz.sentinel", 42))
        fuzz_die("attn_model_set_int", weft_last_error());
    weft_clear_error();
    weft_err_t err = attn_model_load(path, &mf);
    if (err) {
        fuzz_check_error(err, path);
        if (mf.n_ints != 1 || mf.n_vecs || mf.n_tensors || mf.ints[0].value != 42 ||
            strcmp(mf.ints[0].name, "fuzz.sentinel"))
            fuzz_die("a failed attn_model_load changed the caller's container", NULL);
        attn_model_destroy(&mf);
        return 0;
    }
    check_model(&mf);
    if ((err = attn_model_save(save_path, &mf)))
        fuzz_die("attn_model_save of a loaded model failed", weft_last_error());
    attn_model_file_t back;
    attn_model_init(&back);
    if ((err = attn_model_load(save_path, &back)))
        fuzz_die("a model saved by attn_model_save does not load back", weft_last_error());
    check_same(&mf, &back);
    attn_model_destroy(&back);
    attn_model_destroy(&mf);
    return 0;
}
