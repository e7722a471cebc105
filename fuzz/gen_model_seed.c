/*
 * gen_model_seed.c - writes the seed inputs of the model fuzz target: small
 * model files saved by attn_model_save(), so the fuzzer starts from valid
 * msgpack of the right schema (every kind of entry, 1-D and 2-D tensors, a
 * negative integer, an empty container) instead of guessing the magic.
 *
 *   gen_model_seed DIR    writes DIR/tiny.wmodel, DIR/tiny-v1.wmodel and
 *                         DIR/empty.wmodel
 *
 * Mutations of a version 2 file nearly always break its SHA-256, which is
 * checked before the schema; tiny-v1.wmodel, the same model as format
 * version 1 (no checksum), lets them reach the schema's checks.
 *
 * Built and run by fuzz/make_seeds.sh; a tool, so it exits on failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention/attn.h"

static void check(weft_err_t err)
{
    if (err) {
        fprintf(stderr, "gen_model_seed: %s: %s\n", weft_strerror(err), weft_last_error());
        exit(1);
    }
}

/* DIR/tiny-v1.wmodel: the version 2 file at path as version 1 (attn.h):
 * the version byte 1, three body entries, the "sha256" entry (the last 41
 * bytes) cut off. */
static void write_v1(const char *path, const char *dir)
{
    static unsigned char buf[1 << 16];
    FILE *f = fopen(path, "rb");
    size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    if (len < 13 + 41 || len == sizeof buf || buf[11] != 2 || buf[12] != 0x84) {
        fprintf(stderr, "gen_model_seed: %s is not the expected version 2 file\n", path);
        exit(1);
    }
    buf[11] = 1;
    buf[12] = 0x83;
    char out[4096];
    snprintf(out, sizeof out, "%s/tiny-v1.wmodel", dir);
    f = fopen(out, "wb");
    if (!f || fwrite(buf, 1, len - 41, f) != len - 41 || fclose(f) != 0) {
        fprintf(stderr, "gen_model_seed: cannot write %s\n", out);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_model_seed DIR\n");
        return 2;
    }
    char path[4096];
    attn_model_file_t mf;

    /* the shape attn_params_to_model writes, shrunk: config ints, a
     * normalisation vector pair, weight matrices and bias vectors */
    attn_model_init(&mf);
    check(attn_model_set_int(&mf, "attn.E", 3));
    check(attn_model_set_int(&mf, "attn.M", 4));
    check(attn_model_set_int(&mf, "attn.H", 1));
    check(attn_model_set_int(&mf, "attn.B", 1));
    check(attn_model_set_int(&mf, "attn.pre_ln", 1));
    check(attn_model_set_int(&mf, "attn.gelu", 0));
    check(attn_model_set_int(&mf, "train.seed", -7));
    const float mean[3] = {0.5f, -1.25f, 3.0f}, stdv[3] = {1.0f, 0.25f, 2.0f};
    check(attn_model_set_vector(&mf, "feat.mean", mean, 3));
    check(attn_model_set_vector(&mf, "feat.std", stdv, 3));
    float w[4 * 3], b[4];
    for (size_t i = 0; i < 12; i++)
        w[i] = (float)i * 0.125f - 0.5f;
    for (size_t i = 0; i < 4; i++)
        b[i] = (float)i;
    const size_t shape_w[2] = {4, 3}, shape_b[1] = {4}, shape_h[3] = {1, 1, 4};
    check(attn_model_set_tensor(&mf, "attn.in.w", 2, shape_w, w));
    check(attn_model_set_tensor(&mf, "attn.in.b", 1, shape_b, b));
    check(attn_model_set_tensor(&mf, "attn.head.w", 3, shape_h, b));
    snprintf(path, sizeof path, "%s/tiny.wmodel", argv[1]);
    check(attn_model_save(path, &mf));
    attn_model_destroy(&mf);
    write_v1(path, argv[1]);

    /* the smallest valid file: empty config, vectors and tensors */
    attn_model_init(&mf);
    snprintf(path, sizeof path, "%s/empty.wmodel", argv[1]);
    check(attn_model_save(path, &mf));
    attn_model_destroy(&mf);
    return 0;
}
