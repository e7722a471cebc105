/*
 * fuzz_weft.c - libFuzzer target for workload_read_weft() (weft's own text
 * format, docs/workload-format.md): any input either reads into a workload
 * that keeps coflow.h's invariants and writes back to a file that reads as
 * the same workload, or fails with a detail.
 */
#include "fuzz/fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_file_open(0, "weft");
    fuzz_file_open(1, "weft-roundtrip");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_workload_input(workload_read_weft, data, size);
    return 0;
}
