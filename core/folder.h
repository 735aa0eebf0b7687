/*
 * folder.h — account folders: paths inside the store's tree.
 *
 * A folder is written relative to the store root, normalised to "/" or
 * "/a/b" (no trailing slash, no empty, "." or ".." components, no control
 * characters, at most FOLDER_MAX_LEN bytes).  On disk it is opened from the
 * root with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so neither
 * ".." nor a symlink can take it outside the tree.  A relative symlink
 * whose target stays inside the tree is followed; an absolute symlink is
 * always refused (COF_EPERM), even one naming a place inside the tree.
 */
#ifndef COFFER_FOLDER_H
#define COFFER_FOLDER_H

#include <stdint.h>

#define FOLDER_MAX_LEN 200

/* *out: malloc'd normal form.  COF_EINVAL on a bad path ("..", too long). */
int folder_normalize(const char *in, char **out);

/*
 * Opens root/folder as a directory (O_DIRECTORY|O_CLOEXEC) into *fd.
 * create != 0 makes missing components (mode 0755) one at a time, each
 * beneath the last.  Returns COF_ENOENT (missing, create == 0), COF_EINVAL
 * (a component is not a directory: "a folder that is a file"), COF_EPERM
 * (a symlink or ".." leads outside the tree), COF_EIO otherwise.
 */
int folder_open(const char *root, const char *folder, int create, int *fd);

/* 1 if folder a contains folder b (a == b counts), on normal forms. */
int folder_contains(const char *a, const char *b);

/*
 * Usage of the tree beneath the directory dirfd (not consumed): the sum
 * of st_size of the regular files in it, at any depth.  Symlinks are not
 * followed, other file systems are counted like the rest.  The walk holds
 * two file descriptors whatever the depth (it climbs back with ".." and
 * checks it lands where it came from), so a tree of any depth is counted.
 * Returns 0, COF_EBUSY when directories were moved under the walk three
 * times in a row (the count would be wrong), COF_ENOMEM or COF_EIO.
 */
int folder_tree_bytes(int dirfd, uint64_t *sum);

#endif
