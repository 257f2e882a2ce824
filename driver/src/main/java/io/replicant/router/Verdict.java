package io.replicant.router;

/** What the text of a statement alone says about where it may run, before session state is considered. */
public enum Verdict {
    /** May run on a replica. */
    READ,
    /** Transaction control: follows the transaction, or starts one. */
    TRANSACTION,
    /** Changes session state: runs on the primary (or the transaction's backend) and may be replayed elsewhere. */
    SESSION,
    /** Probably safe on a replica, but not proven: primary unless a hint or rule says otherwise. */
    UNSURE,
    /** Certainly needs the primary; no hint or rule can send it elsewhere. */
    WRITE
}
