package io.berth.storage;

import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * One lock per repository, held by every change that a {@link TagGuard} rules on: a manifest push (it checks and
 * writes its tags and verifies what it refers to), a manifest or tag delete, a blob delete, and a garbage
 * collection's pass over the repository. Each of them checks its rule and acts while holding the lock, so a rule
 * cannot be checked against a state that another request changes before the write.
 *
 * <p>The locks are striped: a fixed array picked by the name's hash, so no request, whatever repository name it
 * makes up, can make the set grow. Two repositories sharing a stripe only wait for each other. The locks are
 * reentrant, so a collection holding a repository's lock can delete in it.
 *
 * <p><b>Several replicas on one shared storage</b> (not implemented: a lock here only orders the requests of one
 * process). The same critical sections would take a lock that lives in the storage itself, since that is all the
 * replicas share: on a filesystem, a lock file per repository under {@code _berth/locks/}, created with
 * {@code CREATE_NEW} and holding its owner and a lease expiry so a crashed replica's lock can be broken; on an
 * object store, a conditional write (If-None-Match on create, If-Match on the generation read) of a per-repository
 * lock object, or of the tag's {@code current/link} itself as a compare-and-swap on the digest the check read, with a
 * retry on conflict. Deletes of reached content depend on every protected tag of the repository, so they need the
 * repository-wide lock (or a repository generation object that every tag write bumps and every delete re-reads
 * conditionally), not a per-tag one.
 */
final class RepositoryLocks {
    private static final int STRIPES = 256;

    private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];

    RepositoryLocks() {
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantLock();
        }
    }

    /** Runs {@code action} holding {@code repository}'s lock, and returns what it returns. */
    <T> T locked(RepositoryName repository, Supplier<T> action) {
        ReentrantLock lock = stripe(repository);
        lock.lock();
        try {
            return action.get();
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code action} holding {@code repository}'s lock. */
    void locked(RepositoryName repository, Runnable action) {
        ReentrantLock lock = stripe(repository);
        lock.lock();
        try {
            action.run();
        } finally {
            lock.unlock();
        }
    }

    private ReentrantLock stripe(RepositoryName repository) {
        int h = repository.value().hashCode();
        return stripes[(h ^ (h >>> 16)) & (STRIPES - 1)];
    }
}
