package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * The one daemon thread that watches the deadlines of every exchange in flight, blocking
 * ({@link DeadlineBoundResponse}) and reactive ({@link DeadlineWatch}), looking every {@value #TICK_MILLIS}
 * ms, instead of a timer per exchange: scheduling and cancelling a timer wakes a scheduler thread on every
 * call, which measured about 19 µs per call on two cores (decision record 0021). Watching costs a set
 * insertion and removal; a deadline is acted on at most one tick late. Free of Reactor, which a servlet
 * application may not have: what passes decides where its work runs.
 */
final class Deadlines {

	static final long TICK_MILLIS = 10;

	private static final Set<Due> pending = ConcurrentHashMap.newKeySet();

	private static final AtomicBoolean started = new AtomicBoolean();

	private Deadlines() {
	}

	/** Something with a deadline. */
	interface Due {

		/** The deadline, on {@link System#nanoTime()}'s scale. */
		long dueAtNanos();

		/** Called once, on the watching thread, when the deadline has passed: must return at once. */
		void reached();

	}

	/** Starts watching. */
	static void watch(Due due) {
		pending.add(due);
		if (!started.get() && started.compareAndSet(false, true)) {
			Thread thread = new Thread(Deadlines::watchForever, "tis-resilience-deadlines");
			thread.setDaemon(true);
			thread.start();
		}
	}

	/** Stops watching: the exchange is over. */
	static void forget(Due due) {
		pending.remove(due);
	}

	private static void watchForever() {
		while (!Thread.currentThread().isInterrupted()) {
			long now = System.nanoTime();
			for (Due due : pending) {
				if (now - due.dueAtNanos() >= 0 && pending.remove(due)) {
					try {
						due.reached();
					}
					catch (RuntimeException ex) {
						// One exchange's failure to end must not stop the watch of all the others.
					}
				}
			}
			LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS));
		}
	}

}
