package dev.tidings.source;

/**
 * This process led its slot and lost the lease (its lock session ended or could not be renewed in
 * time): it stopped delivering and confirming, and another process may now lead. Not retried in
 * place: the process ends, and its supervisor restarts it as a standby.
 */
public final class LeadershipLostException extends RuntimeException {
    public LeadershipLostException(String message) {
        super(message);
    }
}
