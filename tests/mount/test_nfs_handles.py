"""The NFS export path of a mount, tested the way nfsd uses it, without
nfsd (this kernel has none): name_to_handle_at gives a file handle,
open_by_handle_at opens it again. Handles must give the same bytes and the
same listings while the kernel still has the inode, after it forgot it
(caches dropped: the kernel then asks the daemon by inode number, with
LOOKUP "." and, to reconnect a directory, ".."), and after the daemon was
restarted on the same cache (a new mount, as when dexmafs.service
restarts under an NFS server)."""

import ctypes
import errno
import os
import subprocess
import time

from harness import MountTestCase, Mount, main

AT_FDCWD = -100
MAX_HANDLE = 128
libc = ctypes.CDLL(None, use_errno=True)


class FileHandle(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * MAX_HANDLE)]


def name_to_handle(path):
    """(handle bytes, handle type) of path (symbolic links not followed)."""
    fh = FileHandle()
    fh.handle_bytes = MAX_HANDLE
    mount_id = ctypes.c_int()
    if libc.name_to_handle_at(AT_FDCWD, os.fsencode(path), ctypes.byref(fh),
                              ctypes.byref(mount_id), 0):
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)
    return bytes(fh.f_handle[:fh.handle_bytes]), fh.handle_type


def open_by_handle(mount_fd, handle, flags=os.O_RDONLY):
    data, htype = handle
    fh = FileHandle()
    fh.handle_bytes = len(data)
    fh.handle_type = htype
    ctypes.memmove(fh.f_handle, data, len(data))
    fd = libc.open_by_handle_at(mount_fd, ctypes.byref(fh), flags)
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return fd


def drop_kernel_caches():
    """Makes the kernel forget dentries and inodes it does not need, so
    FORGETs reach the daemon and a handle's inode must be found again."""
    subprocess.run(["sync"], check=True)
    for _ in range(2):
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("2\n")


MAIN = "Main Meter (1200001)"


class NfsHandleTest(MountTestCase):

    def sample(self, m):
        """Paths of files and directories of every depth, with what reading
        or listing them gives."""
        dev = os.path.join(m.root, "devices", MAIN)
        hourly = os.path.join(dev, "EACTIVE", "hourly")
        files = [os.path.join(hourly, "2024-10-01--2024-10-31.csv"),
                 os.path.join(hourly, "2024-02-01--2024-02-29.csv"),
                 os.path.join(dev, "device.json"),
                 os.path.join(dev, "EACTIVE", "parameter.json")]
        dirs = [m.root, os.path.join(m.root, "devices"), dev, os.path.join(dev, "EACTIVE"),
                hourly, os.path.join(m.root, "locations"), os.path.join(m.root, "datasources")]
        want = {}
        for p in files:
            with open(p, "rb") as f:
                want[p] = f.read()
        for p in dirs:
            want[p] = sorted(os.listdir(p))
        return files, dirs, want

    def check(self, mnt_root, handles, files, dirs, want):
        mount_fd = os.open(mnt_root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for p in files:
                fd = open_by_handle(mount_fd, handles[p])
                with os.fdopen(fd, "rb") as f:
                    self.assertEqual(f.read(), want[p], p)
            for p in dirs:
                fd = open_by_handle(mount_fd, handles[p], os.O_RDONLY | os.O_DIRECTORY)
                try:
                    self.assertEqual(sorted(os.listdir(fd)), want[p], p)
                finally:
                    os.close(fd)
        finally:
            os.close(mount_fd)

    def test_handles_open_the_same_files_and_directories(self):
        m = self.mount()
        files, dirs, want = self.sample(m)
        handles = {p: name_to_handle(p) for p in files + dirs}
        self.assertEqual(len(set(handles.values())), len(handles))
        self.check(m.mnt, handles, files, dirs, want)

    def test_handles_after_the_kernel_forgot_the_inodes(self):
        m = self.mount()
        files, dirs, want = self.sample(m)
        handles = {p: name_to_handle(p) for p in files + dirs}
        before = self.calls()
        drop_kernel_caches()
        self.check(m.mnt, handles, files, dirs, want)
        drop_kernel_caches()
        self.check(m.mnt, handles, files, dirs, want)
        self.assertEqual(self.calls(), before)  # all from the cache

    def test_handles_after_a_daemon_restart_on_the_same_cache(self):
        m = self.mount()
        files, dirs, want = self.sample(m)
        handles = {p: name_to_handle(p) for p in files + dirs}
        inos = {p: os.stat(p).st_ino for p in files + dirs}
        cache = m.cache_dir
        m.stop()
        m2 = Mount(self.sim.url, cache_dir=cache)
        self.addCleanup(m2.cleanup)
        m2.start()
        before = self.calls()
        moved = {p.replace(m.mnt, m2.mnt, 1): h for p, h in handles.items()}
        want2 = {p.replace(m.mnt, m2.mnt, 1): v for p, v in want.items()}
        self.check(m2.mnt, moved, [p.replace(m.mnt, m2.mnt, 1) for p in files],
                   [p.replace(m.mnt, m2.mnt, 1) for p in dirs], want2)
        self.assertEqual(self.calls(), before)  # nothing fetched again
        # The same inode numbers on the new mount, so NFS clients see the
        # same files.
        for p in files + dirs:
            self.assertEqual(os.stat(p.replace(m.mnt, m2.mnt, 1)).st_ino, inos[p], p)
        # And again after the new daemon's kernel forgot them.
        drop_kernel_caches()
        self.check(m2.mnt, moved, [p.replace(m.mnt, m2.mnt, 1) for p in files],
                   [p.replace(m.mnt, m2.mnt, 1) for p in dirs], want2)

    def test_handles_after_a_kill_and_restart(self):
        # The records are written in batches: when one is full, and at the
        # first new entry a second after its first one. A crash loses only
        # what came after.
        m = self.mount()
        files, dirs, want = self.sample(m)
        # A file that no listing shows: its node is the newest, its record
        # still waits in the batch.
        odd = os.path.join(m.root, "devices", MAIN, "EACTIVE", "hourly",
                           "2024-10-05--2024-10-06.csv")
        with open(odd, "rb") as f:
            want[odd] = f.read()
        files.append(odd)
        handles = {p: name_to_handle(p) for p in files + dirs}
        time.sleep(1.2)
        # A new entry a second later (a bare id, never listed): the batch is
        # written.
        os.lstat(os.path.join(m.root, "devices", "1200002"))
        cache = m.cache_dir
        m.kill9()
        m2 = Mount(self.sim.url, cache_dir=cache)
        self.addCleanup(m2.cleanup)
        m2.start()
        self.check(m2.mnt, {p.replace(m.mnt, m2.mnt, 1): h for p, h in handles.items()},
                   [p.replace(m.mnt, m2.mnt, 1) for p in files],
                   [p.replace(m.mnt, m2.mnt, 1) for p in dirs],
                   {p.replace(m.mnt, m2.mnt, 1): v for p, v in want.items()})

    def test_unknown_handle_is_stale(self):
        m = self.mount()
        data, htype = name_to_handle(os.path.join(m.root, "devices"))
        forged = (bytes(b ^ 0x5a for b in data[:8]) + data[8:], htype)
        mount_fd = os.open(m.mnt, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with self.assertRaises(OSError) as e:
                os.close(open_by_handle(mount_fd, forged))
            self.assertEqual(e.exception.errno, errno.ESTALE)
        finally:
            os.close(mount_fd)



if __name__ == "__main__":
    main()
