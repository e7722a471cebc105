/*
 * temp_left.h - whether weft_save_file left a temporary file behind: one
 * named FILE.tmp-XXXXXX (or FILE.tmp, as it was named before) beside FILE.
 */
#ifndef WEFT_TESTS_TEMP_LEFT_H
#define WEFT_TESTS_TEMP_LEFT_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Whether a temporary file of path is in path's directory ("dir/" asks
 * for one of dir/, a name ".tmp..."). */
__attribute__((unused)) static bool temp_left_beside(const char *path)
{
    char dir[1024], prefix[1024 + 8];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    snprintf(prefix, sizeof prefix, "%s.tmp", slash ? slash + 1 : dir);
    if (slash)
        *slash = '\0';
    DIR *d = opendir(slash ? (*dir ? dir : "/") : ".");
    if (!d)
        return false;
    bool left = false;
    for (struct dirent *e; !left && (e = readdir(d));)
        left = !strncmp(e->d_name, prefix, strlen(prefix));
    closedir(d);
    return left;
}

#endif
