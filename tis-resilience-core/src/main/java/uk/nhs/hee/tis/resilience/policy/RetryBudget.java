package uk.nhs.hee.tis.resilience.policy;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

/**
 * Caps the retries sent to one service so that, during an outage, retries add at most a fixed
 * fraction to the traffic (plus a small floor per second, so that a quiet service can still retry).
 * Counts calls and retries over a sliding window of ten one-second slots.
 * <p>
 * Resilience4j's {@code Retry} has no budget, which is why this one is ours: without it, every
 * caller of a failing service multiplies its load by {@code max-attempts}.
 *
 * @since 0.1.0
 */
public final class RetryBudget {

	private static final int SLOTS = 10;

	private static final long SLOT_NANOS = 1_000_000_000L;

	private final double ratio;

	private final int minPerSecond;

	private final LongSupplier nanoClock;

	private final AtomicLongArray slotEpochs = new AtomicLongArray(SLOTS);

	private final AtomicLongArray calls = new AtomicLongArray(SLOTS);

	private final AtomicLongArray retries = new AtomicLongArray(SLOTS);

	/**
	 * Creates a budget.
	 * @param ratio retries may add at most this fraction to the calls made (0-1)
	 * @param minPerSecond retries always allowed per second
	 */
	public RetryBudget(double ratio, int minPerSecond) {
		this(ratio, minPerSecond, System::nanoTime);
	}

	RetryBudget(double ratio, int minPerSecond, LongSupplier nanoClock) {
		this.ratio = ratio;
		this.minPerSecond = minPerSecond;
		this.nanoClock = nanoClock;
		for (int i = 0; i < SLOTS; i++) {
			this.slotEpochs.set(i, Long.MIN_VALUE);
		}
	}

	/** Records one call (its first attempt). Lock-free: it runs on every protected call. */
	public void recordCall() {
		this.calls.incrementAndGet(slot(epoch()));
	}

	/**
	 * Records one call at a time the caller already read, saving a clock read on the hot path.
	 * @param nanoTime {@link System#nanoTime()} at the start of the call
	 */
	void recordCall(long nanoTime) {
		this.calls.incrementAndGet(slot(Math.floorDiv(nanoTime, SLOT_NANOS)));
	}

	/**
	 * Takes one retry from the budget, when there is one left.
	 * @return whether the retry may be sent
	 */
	public boolean tryAcquireRetry() {
		long epoch = epoch();
		int current = slot(epoch);
		synchronized (this) {
			long callsInWindow = 0;
			long retriesInWindow = 0;
			for (int i = 0; i < SLOTS; i++) {
				if (this.slotEpochs.get(i) > epoch - SLOTS) {
					callsInWindow += this.calls.get(i);
					retriesInWindow += this.retries.get(i);
				}
			}
			boolean withinRatio = retriesInWindow + 1 <= this.ratio * callsInWindow;
			boolean withinFloor = this.retries.get(current) < this.minPerSecond;
			if (!withinRatio && !withinFloor) {
				return false;
			}
			this.retries.incrementAndGet(current);
			return true;
		}
	}

	private long epoch() {
		return Math.floorDiv(this.nanoClock.getAsLong(), SLOT_NANOS);
	}

	// Moves the slot for this epoch forward, clearing what it counted before. Two threads may both
	// clear it at a second's turn; a count lost there only makes the budget a little stricter.
	private int slot(long epoch) {
		int index = (int) Math.floorMod(epoch, (long) SLOTS);
		long seen = this.slotEpochs.get(index);
		if (seen != epoch && this.slotEpochs.compareAndSet(index, seen, epoch)) {
			this.calls.set(index, 0);
			this.retries.set(index, 0);
		}
		return index;
	}

}
