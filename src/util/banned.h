/* src/util/banned.h — functions zferry does not call, made compile errors (after git's) */
#pragma once

/*
 * Unbounded copies and formatting overflow buffers; atoi() hides parse errors;
 * system() and popen() run a shell, and a dataset name must never reach a
 * shell (DESIGN.md guarantee 4).  Use the bounded or argv-based helpers in
 * util/ instead.  Included last by every .c file through meson's -include.
 */
#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef system
#define system(x) BANNED(system)
#undef popen
#define popen(x, y) BANNED(popen)
#undef gets
#define gets(x) BANNED(gets)
