/*
 * fuzz_alibaba.c - libFuzzer target for workload_read_alibaba() (Alibaba
 * cluster-trace-v2018 batch_task CSV, default options): any input either
 * reads into a workload that keeps coflow.h's invariants and survives a
 * round trip through weft's format, or fails with a detail and leaves the
 * workload empty.
 */
#include "fuzz/fuzz_common.h"

static weft_err_t read_alibaba(coflow_workload_t *wl, const char *path)
{
    return workload_read_alibaba(wl, path, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_file_open(0, "alibaba");
    fuzz_file_open(1, "alibaba-roundtrip");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_workload_input(read_alibaba, data, size);
    return 0;
}
