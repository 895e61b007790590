/*
 * releaseFilePages() -> number: drops the node executable's clean file pages from this process's
 * page tables (madvise MADV_DONTNEED) and returns how many kB were resident in them (ADR 0012).
 *
 * Why: RSS counts every page of the node binary the process has ever touched, and an agent's start
 * touches ~50 MB of them (the snapshot it deserialises, built-in modules' sources and code cache,
 * the optimising compilers that ran while modules and the first table loaded) against the ~8 MB
 * an idle agent executes again. Those pages stay in the page cache, shared with every other Node
 * process; dropping them only unmaps them here, and a page the agent needs again is mapped back
 * by a minor fault on its next access. RSS then shows what the process uses, not what its start
 * touched once. It moves RSS, not the node's memory: PSS falls by this process's share of the
 * pages, private memory not at all.
 *
 * Only read-only, private mappings of the executable with no anonymous (copy-on-write) pages are
 * dropped: MADV_DONTNEED on a private mapping discards its written pages, so a mapping the dynamic
 * loader relocated (RELRO) or any writable data is left alone. Read-only mappings cannot gain such
 * pages after the check, as nothing in the process writes to them.
 */
#define _GNU_SOURCE
#include <node_api.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_MAPPINGS 64

struct candidate {
  unsigned long start;
  unsigned long end;
  unsigned long rss_kb;
  unsigned long anon_kb;
};

/* Reads an smaps header line ("start-end perms offset dev inode   path"); 0 for a field line. */
static int parse_header(const char *line, unsigned long *start, unsigned long *end, char perms[5],
                        const char **path) {
  unsigned long offset, inode;
  char dev[32];
  int consumed = 0;
  if (sscanf(line, "%lx-%lx %4s %lx %31s %lu %n", start, end, perms, &offset, dev, &inode, &consumed) < 6) {
    return 0;
  }
  *path = line + consumed;
  return 1;
}

napi_value release_file_pages(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  char exe[PATH_MAX];
  char line[PATH_MAX + 256];
  struct candidate found[MAX_MAPPINGS];
  int count = 0;
  int current = -1; /* index in found of the mapping whose fields are being read, or -1 */
  double dropped_kb = 0;

  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  FILE *smaps = n > 0 ? fopen("/proc/self/smaps", "re") : NULL;
  if (!smaps) {
    napi_create_double(env, 0, &result);
    return result;
  }
  exe[n] = '\0';
  while (fgets(line, sizeof line, smaps)) {
    unsigned long start, end, kb;
    char perms[5];
    const char *path;
    if (parse_header(line, &start, &end, perms, &path)) {
      size_t len = strlen(path);
      while (len > 0 && (path[len - 1] == '\n' || path[len - 1] == ' ')) len--;
      current = -1;
      /* r--p or r-xp: readable, not writable, private */
      if (perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' && len == (size_t)n &&
          strncmp(path, exe, len) == 0 && count < MAX_MAPPINGS) {
        current = count++;
        found[current] = (struct candidate){start, end, 0, 0};
      }
      continue;
    }
    if (current < 0) continue;
    if (sscanf(line, "Rss: %lu kB", &kb) == 1) found[current].rss_kb = kb;
    else if (sscanf(line, "Anonymous: %lu kB", &kb) == 1) found[current].anon_kb = kb;
  }
  fclose(smaps);
  for (int i = 0; i < count; i++) {
    if (found[i].anon_kb != 0 || found[i].rss_kb == 0) continue;
    if (madvise((void *)found[i].start, found[i].end - found[i].start, MADV_DONTNEED) == 0) {
      dropped_kb += (double)found[i].rss_kb;
    }
  }
  napi_create_double(env, dropped_kb, &result);
  return result;
}
