/*
 * fuzz_fb.c - libFuzzer target for workload_read_fb() (Facebook coflow benchmark,
 * default options): any input either reads into a workload that keeps
 * coflow.h's invariants and survives a round trip through weft's format,
 * or fails with a detail and leaves the workload empty.
 */
#include "fuzz/fuzz_common.h"

static weft_err_t read_fb(coflow_workload_t *wl, const char *path)
{
    return workload_read_fb(wl, path, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_file_open(0, "fb");
    fuzz_file_open(1, "fb-roundtrip");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_workload_input(read_fb, data, size);
    return 0;
}
