/*
 * tsan_arena_shim.c - lets Criterion start under ThreadSanitizer
 * (scripts/tsan.sh preloads it into the test programs, and only there).
 *
 * Criterion 2.4.1's BoxFort (0.1.2) maps its inheritable arena at a random
 * address of [0x2000_0000_0000, 0x6000_0000_0000) in steps of 16 MiB,
 * drawn with rand_r, and gives up after a few addresses already taken.
 * TSan's x86-64 layout reserves nearly all of that range (its meta-data
 * and the gaps it keeps inaccessible), so every run ended before the
 * first test: "criterion: Could not initialize inheritable arena" or a
 * SIGSEGV in libcriterion (Criterion issue #274). For callers in
 * libcriterion, rand_r's draw is moved into the steps of
 * [0x5580_0000_0000, 0x5670_0000_0000), where TSan leaves application
 * memory (it holds the program itself, a few MiB of its 3.75 TiB); other
 * callers get rand_r as it is.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#define ARENA_FIRST_STEP 0x358000 /* (0x5580_0000_0000 - 0x2000_0000_0000) / 16 MiB */
#define ARENA_STEPS 0xF000        /* up to 0x5670_0000_0000 */

int rand_r(unsigned *seed)
{
    static int (*next_rand_r)(unsigned *);
    if (!next_rand_r)
        next_rand_r = (int (*)(unsigned *))dlsym(RTLD_NEXT, "rand_r");
    int r = next_rand_r(seed);
    Dl_info caller;
    if (dladdr(__builtin_return_address(0), &caller) && caller.dli_fname &&
        strstr(caller.dli_fname, "libcriterion"))
        return ARENA_FIRST_STEP + r % ARENA_STEPS;
    return r;
}
