/* FUSE low-level operations over dx_tree; see ops.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "dx_handles.h"
#include "dx_tree.h"
#include "ops.h"

/* Negative entries: names that do not exist stay unknown to the kernel for
 * this long, so probes of .Trash or autorun.inf cost nothing. */
#define NEGATIVE_TIMEOUT 300.0

static struct dx_tree *tree_of(fuse_req_t req)
{
	return ((struct dx_ops_ctx *)fuse_req_userdata(req))->tree;
}

/* The I/O priority ABI (linux/ioprio.h): a class in the top bits. */
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_CLASS_IDLE 3
/* A reader niced this much or more is background work. */
#define BACKGROUND_NICE 10

/* The priority a request is served at: background for a reader in the idle
 * I/O class (ionice -c3) or with nice >= 10, so that it never spends the
 * reserve; interactive otherwise, and when the reader is gone or unknown. */
static enum dx_priority prio_of(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	long io;
	int nice_value;

	if (!ctx || ctx->pid <= 0)
		return DX_PRIO_INTERACTIVE;
	io = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, (int)ctx->pid);
	if (io >= 0 && (io >> IOPRIO_CLASS_SHIFT) == IOPRIO_CLASS_IDLE)
		return DX_PRIO_BACKGROUND;
	errno = 0;
	nice_value = getpriority(PRIO_PROCESS, (id_t)ctx->pid);
	if (errno == 0 && nice_value >= BACKGROUND_NICE)
		return DX_PRIO_BACKGROUND;
	return DX_PRIO_INTERACTIVE;
}

/* Replies with the error a reader may see for rc (a negative errno): the
 * errors of a read-only filesystem pass, and anything else is an API or
 * network fault (EPROTO, ETIMEDOUT, E2BIG, EHOSTUNREACH, EACCES from a
 * revoked token, ...), which readers get as EIO. The client has logged
 * the cause. Every error reply goes through here. */
static void reply_err(fuse_req_t req, int rc)
{
	int e = -rc;

	switch (e) {
	case ENOENT: /* a missing entity */
	case EAGAIN: /* over quota */
	case EROFS:
	case ENOMEM:
	case ENOTDIR:
	case EISDIR:
	case EINVAL: /* readlink of a file */
	case ENAMETOOLONG:
	case ERANGE:
	case EOPNOTSUPP:
		break;
	default:
		e = EIO;
	}
	fuse_reply_err(req, e);
}

static void to_stat(const struct dx_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size = (off_t)a->size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_mtim.tv_sec = a->mtime;
	st->st_mtim.tv_nsec = a->mtime_nsec;
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
	switch (a->type) {
	case DX_DIR:
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		break;
	case DX_LNK:
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		break;
	default:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		break;
	}
}

static void to_entry(const struct dx_attr *a, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	e->attr_timeout = a->timeout;
	e->entry_timeout = a->timeout;
	to_stat(a, &e->attr);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct dx_ops_ctx *ctx = userdata;

	/* Opens without a round trip (op_open, op_opendir). No FLUSH op: its first ENOSYS
	 * ends FLUSHes at close for good. */
	ctx->no_open = !!(conn->capable & FUSE_CAP_NO_OPEN_SUPPORT);
	ctx->no_opendir = !!(conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT);
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	/* No writes ever: no need for the kernel to ask about writeback. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* File handles (NFS, open_by_handle_at) of inodes the kernel no longer
	 * has come as lookups of "." and ".."; the tree answers them. */
	if (conn->capable & FUSE_CAP_EXPORT_SUPPORT)
		conn->want |= FUSE_CAP_EXPORT_SUPPORT;
}

/* LOOKUP of "." or ".." in a node: a file handle being resolved. */
static void lookup_by_ino(fuse_req_t req, fuse_ino_t ino, int parent)
{
	struct fuse_entry_param e;
	struct dx_attr a;
	int rc = dx_tree_lookup_ino(tree_of(req), prio_of(req), ino, parent, &a);

	if (rc == -ENOENT) {
		fuse_reply_err(req, ESTALE); /* a handle of an entity that is gone */
		return;
	}
	if (rc) {
		reply_err(req, rc);
		return;
	}
	to_entry(&a, &e);
	fuse_reply_entry(req, &e);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct dx_attr a;
	int rc;

	if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]))) {
		lookup_by_ino(req, parent, name[1] == '.');
		return;
	}
	rc = dx_tree_lookup(tree_of(req), prio_of(req), parent, name, &a);
	if (rc == -ENOENT) {
		memset(&e, 0, sizeof(e));
		e.entry_timeout = NEGATIVE_TIMEOUT;
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc) {
		reply_err(req, rc);
		return;
	}
	to_entry(&a, &e);
	fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	dx_tree_forget(tree_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *list)
{
	size_t i;

	for (i = 0; i < count; i++)
		dx_tree_forget(tree_of(req), list[i].ino, list[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dx_attr a;
	struct stat st;
	int rc = fi ? dx_tree_getattr_open(tree_of(req), prio_of(req), ino, &a) :
		      dx_tree_getattr(tree_of(req), prio_of(req), ino, &a);

	if (rc) {
		reply_err(req, rc);
		return;
	}
	to_stat(&a, &st);
	fuse_reply_attr(req, &st, a.timeout);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct dx_buf target;
	int rc;

	dx_buf_init(&target, 4096);
	rc = dx_tree_readlink(tree_of(req), prio_of(req), ino, &target);
	if (rc)
		reply_err(req, rc);
	else
		fuse_reply_readlink(req, target.data);
	dx_buf_release(&target);
}

/* Directories are opened without a round trip too: the first OPENDIR
 * answers ENOSYS, which the kernel takes as success for every later
 * opendir of this mount (and no RELEASEDIR follows); it keeps the
 * listings it reads (cache_readdir) either way. Reads of a directory need
 * no handle: the tree keeps its listing while its pieces are read. */
static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dx_ops_ctx *ctx = fuse_req_userdata(req);

	(void)ino;
	if (ctx->no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->fh = 0;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

/* A directory read's reply being filled. */
struct dir_fill {
	fuse_req_t req;
	char *p;
	size_t rem;
	int plus;
};

static int dir_put(void *ctx, const char *name, const struct dx_attr *attr, int plus, uint64_t next)
{
	struct dir_fill *f = ctx;
	struct fuse_entry_param e;
	size_t len;

	memset(&e, 0, sizeof(e));
	if (plus) {
		to_entry(attr, &e);
	} else {
		/* No lookup counted: the kernel takes ino 0 as "attributes unknown". */
		e.attr.st_ino = attr->ino;
		e.attr.st_mode = attr->type == DX_DIR ? S_IFDIR :
				 attr->type == DX_LNK ? S_IFLNK :
							S_IFREG;
	}
	if (f->plus)
		len = fuse_add_direntry_plus(f->req, f->p, f->rem, name, &e, (off_t)next);
	else
		len = fuse_add_direntry(f->req, f->p, f->rem, name, &e.attr, (off_t)next);
	if (len > f->rem)
		return 1;
	f->p += len;
	f->rem -= len;
	return 0;
}

static void dir_reply(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus)
{
	struct dir_fill f = { req, NULL, size, plus };
	char *buf = malloc(size ? size : 1);
	int rc;

	if (!buf) {
		reply_err(req, -ENOMEM);
		return;
	}
	f.p = buf;
	rc = dx_tree_readdir_at(((struct dx_ops_ctx *)fuse_req_userdata(req))->dirs, tree_of(req),
				prio_of(req), ino, plus, (uint64_t)off, dir_put, &f);
	if (rc)
		reply_err(req, rc);
	else
		fuse_reply_buf(req, buf, size - f.rem);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)fi;
	dir_reply(req, ino, size, off, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)fi;
	dir_reply(req, ino, size, off, 1);
}

/* Opens cost no round trip where the kernel allows it (no-open mode):
 * the first OPEN answers ENOSYS, which the kernel takes as success for
 * every later open of this mount, keeping the file's pages (a period file
 * is invalidated when its data changes; any other file shows a new size
 * or time when its bytes change, and auto_inval_data drops its pages).
 * Without no-open support, a period file keeps its pages and anything
 * else is read around the page cache. Reads need no handle either way:
 * the tree keeps a file's rendering while its pieces are read. */
static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dx_ops_ctx *ctx = fuse_req_userdata(req);
	int keep, rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & (O_TRUNC | O_CREAT))) {
		reply_err(req, -EROFS);
		return;
	}
	rc = dx_tree_open(ctx->tree, ino, &keep);
	if (rc) {
		reply_err(req, rc);
		return;
	}
	if (ctx->no_open) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->fh = 0;
	fi->keep_cache = keep;
	fi->direct_io = !keep;
	fi->noflush = 1; /* nothing is ever written */
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct dx_tree *t = tree_of(req); /* req is gone once replied */
	struct dx_read r;
	int rc = dx_tree_read_begin(t, prio_of(req), ino, (uint64_t)off, size, &r);

	(void)fi;
	if (rc) {
		reply_err(req, rc);
		return;
	}
	fuse_reply_buf(req, r.data, r.len);
	dx_tree_read_end(t, &r);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = 255;
	sv.f_flag = ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

/* Every change answers EROFS. */
static void erofs(fuse_req_t req)
{
	reply_err(req, -EROFS);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	(void)ino;
	(void)attr;
	(void)to_set;
	(void)fi;
	erofs(req);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	erofs(req);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)parent;
	(void)name;
	(void)mode;
	erofs(req);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	(void)name;
	erofs(req);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	erofs(req);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	(void)parent;
	(void)name;
	(void)newparent;
	(void)newname;
	(void)flags;
	erofs(req);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	erofs(req);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)ino;
	(void)buf;
	(void)size;
	(void)off;
	(void)fi;
	erofs(req);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)fi;
	erofs(req);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	(void)ino;
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	erofs(req);
}

/* No entry has extended attributes, and none can be set: there is no
 * getxattr or listxattr op, so libfuse answers their first request with
 * ENOSYS and the kernel answers every later one itself (EOPNOTSUPP, as for
 * a file system without extended attributes). ls -l, Samba, Finder and
 * rsync -X ask on every file; they cost neither a call nor a round trip. */
static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	erofs(req);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			 struct fuse_file_info *fi)
{
	(void)ino;
	(void)mode;
	(void)offset;
	(void)length;
	(void)fi;
	erofs(req);
}

/* Kernel invalidations are queued by the tree and sent by this thread. */
struct dx_invalidator {
	struct fuse_session *se;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	uint64_t *queue;
	size_t n, cap;
	int stop;
};

#define INVAL_QUEUE_MAX (1u << 20)

static void *invalidator_main(void *arg)
{
	struct dx_invalidator *iv = arg;

	pthread_mutex_lock(&iv->lock);
	for (;;) {
		uint64_t *batch;
		size_t n, i;

		while (!iv->n && !iv->stop)
			pthread_cond_wait(&iv->cond, &iv->lock);
		if (iv->stop)
			break;
		batch = iv->queue;
		n = iv->n;
		iv->queue = NULL;
		iv->n = iv->cap = 0;
		pthread_mutex_unlock(&iv->lock);
		/* Attributes, pages and the cached listing of a directory. An
		 * inode the kernel has already forgotten answers ENOENT: fine. */
		for (i = 0; i < n; i++)
			fuse_lowlevel_notify_inval_inode(iv->se, batch[i], 0, 0);
		free(batch);
		pthread_mutex_lock(&iv->lock);
	}
	pthread_mutex_unlock(&iv->lock);
	return NULL;
}

int dx_ops_start_invalidator(struct dx_ops_ctx *ctx, struct fuse_session *se)
{
	struct dx_invalidator *iv = calloc(1, sizeof(*iv));
	int rc;

	if (!iv)
		return -ENOMEM;
	iv->se = se;
	pthread_mutex_init(&iv->lock, NULL);
	pthread_cond_init(&iv->cond, NULL);
	rc = pthread_create(&iv->thread, NULL, invalidator_main, iv);
	if (rc) {
		pthread_cond_destroy(&iv->cond);
		pthread_mutex_destroy(&iv->lock);
		free(iv);
		return -rc;
	}
	ctx->inval = iv;
	return 0;
}

void dx_ops_stop_invalidator(struct dx_ops_ctx *ctx)
{
	struct dx_invalidator *iv = ctx->inval;

	if (!iv)
		return;
	pthread_mutex_lock(&iv->lock);
	iv->stop = 1;
	pthread_cond_signal(&iv->cond);
	pthread_mutex_unlock(&iv->lock);
	pthread_join(iv->thread, NULL);
	free(iv->queue);
	pthread_cond_destroy(&iv->cond);
	pthread_mutex_destroy(&iv->lock);
	free(iv);
	ctx->inval = NULL;
}

void dx_ops_invalidate(void *ctx_, uint64_t ino)
{
	struct dx_ops_ctx *ctx = ctx_;
	struct dx_invalidator *iv = ctx ? ctx->inval : NULL;

	if (!iv)
		return;
	pthread_mutex_lock(&iv->lock);
	if (iv->n == iv->cap && iv->cap < INVAL_QUEUE_MAX) {
		size_t cap = iv->cap ? iv->cap * 2 : 256;
		uint64_t *q = realloc(iv->queue, cap * sizeof(*q));

		if (q) {
			iv->queue = q;
			iv->cap = cap;
		}
	}
	if (iv->n < iv->cap) /* a full queue drops: attribute timeouts still apply */
		iv->queue[iv->n++] = ino;
	pthread_cond_signal(&iv->cond);
	pthread_mutex_unlock(&iv->lock);
}

const struct fuse_lowlevel_ops dx_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.statfs = op_statfs,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_unlink,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.write = op_write,
	.create = op_create,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.fallocate = op_fallocate,
};
