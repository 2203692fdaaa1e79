package uk.nhs.hee.tis.resilience.policy;

import java.util.Arrays;
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

	private final long[] slotEpochs = new long[SLOTS];

	private final long[] calls = new long[SLOTS];

	private final long[] retries = new long[SLOTS];

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
		Arrays.fill(this.slotEpochs, Long.MIN_VALUE);
	}

	/** Records one call (its first attempt). */
	public void recordCall() {
		long epoch = epoch();
		synchronized (this) {
			this.calls[slot(epoch)]++;
		}
	}

	/**
	 * Takes one retry from the budget, when there is one left.
	 * @return whether the retry may be sent
	 */
	public boolean tryAcquireRetry() {
		long epoch = epoch();
		synchronized (this) {
			int current = slot(epoch);
			long callsInWindow = 0;
			long retriesInWindow = 0;
			for (int i = 0; i < SLOTS; i++) {
				if (this.slotEpochs[i] > epoch - SLOTS) {
					callsInWindow += this.calls[i];
					retriesInWindow += this.retries[i];
				}
			}
			boolean withinRatio = retriesInWindow + 1 <= this.ratio * callsInWindow;
			boolean withinFloor = this.retries[current] < this.minPerSecond;
			if (!withinRatio && !withinFloor) {
				return false;
			}
			this.retries[current]++;
			return true;
		}
	}

	private long epoch() {
		return Math.floorDiv(this.nanoClock.getAsLong(), SLOT_NANOS);
	}

	// Must hold the lock: moves the slot for this epoch forward, clearing what it counted before.
	private int slot(long epoch) {
		int index = (int) Math.floorMod(epoch, (long) SLOTS);
		if (this.slotEpochs[index] != epoch) {
			this.slotEpochs[index] = epoch;
			this.calls[index] = 0;
			this.retries[index] = 0;
		}
		return index;
	}

}
