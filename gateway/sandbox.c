#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

/* The kernel headers of Debian 12 stop at ABI 3; newer fields by hand. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

#define LL_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LL_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)

static int
drop_privileges(const struct gw *gw)
{
	if (!gw->drop)
		return 0;
	if (setgroups(0, NULL) != 0 || setresgid(gw->gid, gw->gid, gw->gid) ||
	    setresuid(gw->uid, gw->uid, gw->uid) != 0) {
		log_error("cannot switch to uid %u: %s", (unsigned)gw->uid,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		log_error("privileges could be regained; refusing to go on");
		return -1;
	}
	return 0;
}

static void
landlock(int root_fd, int read_only)
{
	struct ll_ruleset_attr attr;
	struct ll_path_beneath pb;
	uint64_t fs_all, allowed;
	size_t attr_size;
	int abi, rfd;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		log_warn("Landlock unavailable (%s): the fs layer is the only "
		    "wall", strerror(errno));
		return;
	}
	fs_all = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
	    LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
	    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
	    LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	    LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (abi >= 2)
		fs_all |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		fs_all |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		fs_all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = fs_all;
	attr_size = sizeof(uint64_t);
	if (abi >= 4) {
		attr.handled_access_net = LL_ACCESS_NET_BIND_TCP |
		    LL_ACCESS_NET_CONNECT_TCP;
		attr_size = 2 * sizeof(uint64_t);
	}
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
		attr_size = sizeof(attr);
	}
	rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (rfd < 0) {
		log_warn("Landlock ruleset: %s", strerror(errno));
		return;
	}
	allowed = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	if (!read_only)
		allowed |= fs_all & (LANDLOCK_ACCESS_FS_WRITE_FILE |
		    LANDLOCK_ACCESS_FS_REMOVE_DIR |
		    LANDLOCK_ACCESS_FS_REMOVE_FILE |
		    LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
		    LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER |
		    LANDLOCK_ACCESS_FS_TRUNCATE);
	pb.allowed_access = allowed;
	pb.parent_fd = root_fd;
	if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH,
		&pb, 0) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_landlock_restrict_self, rfd, 0) != 0)
		log_warn("Landlock: %s", strerror(errno));
	else
		log_debug("Landlock ABI %d applied (%s)", abi,
		    read_only ? "read-only" : "read-write");
	close(rfd);
}

int
sandbox_drop(const struct gw *gw)
{
	tzset(); /* /etc/localtime may be out of reach afterwards */
	return drop_privileges(gw);
}

void
sandbox_enter(int root_fd, int read_only)
{
	landlock(root_fd, read_only);
}
