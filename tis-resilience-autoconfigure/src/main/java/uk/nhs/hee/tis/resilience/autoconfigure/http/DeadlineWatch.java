package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * Watches the deadlines of reactive exchanges in flight from one daemon thread that looks every
 * {@value #TICK_MILLIS} ms, instead of a Reactor timer per exchange: scheduling and cancelling a timer
 * wakes a scheduler thread on every call, which measured about 19 µs per call on two cores (decision
 * record 0021). Watching costs a set insertion and removal; a deadline is signalled at most one tick
 * late. The signal is sent on Reactor's parallel scheduler, so no caller's code runs on the watching thread.
 */
final class DeadlineWatch {

	static final long TICK_MILLIS = 10;

	private static final DeadlineWatch SHARED = new DeadlineWatch();

	private static final Runnable NOTHING = () -> {
	};

	private final Set<Deadline> pending = ConcurrentHashMap.newKeySet();

	private final AtomicBoolean started = new AtomicBoolean();

	static DeadlineWatch shared() {
		return SHARED;
	}

	/**
	 * Starts watching a deadline.
	 * @param deadlineNanos the deadline on {@link System#nanoTime()}'s scale
	 * @return the deadline, whose {@link Deadline#passed()} emits once it has passed
	 */
	Deadline watch(long deadlineNanos) {
		return watching(new Deadline(deadlineNanos, Sinks.one(), NOTHING));
	}

	/**
	 * Starts watching a deadline that only runs something when it passes, with nothing to subscribe to: a
	 * lighter one, for a wait that ends in most calls long before it.
	 * @param deadlineNanos the deadline on {@link System#nanoTime()}'s scale
	 * @param whenPassed what to run once it has passed, on Reactor's parallel scheduler
	 * @return the deadline ({@link Deadline#passed()} is not to be called on it)
	 */
	Deadline watch(long deadlineNanos, Runnable whenPassed) {
		return watching(new Deadline(deadlineNanos, null, whenPassed));
	}

	private Deadline watching(Deadline deadline) {
		this.pending.add(deadline);
		if (!this.started.get() && this.started.compareAndSet(false, true)) {
			Thread thread = new Thread(this::watchForever, "tis-resilience-deadlines");
			thread.setDaemon(true);
			thread.start();
		}
		return deadline;
	}

	private void watchForever() {
		while (!Thread.currentThread().isInterrupted()) {
			long now = System.nanoTime();
			for (Deadline deadline : this.pending) {
				if (now - deadline.at >= 0 && this.pending.remove(deadline)) {
					Schedulers.parallel().schedule(deadline::signal);
				}
			}
			LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS));
		}
	}

	/** One exchange's deadline. */
	final class Deadline {

		private final long at;

		private final Sinks.@Nullable One<Long> sink;

		private volatile Runnable whenPassed;

		Deadline(long at, Sinks.@Nullable One<Long> sink, Runnable whenPassed) {
			this.at = at;
			this.sink = sink;
			this.whenPassed = whenPassed;
		}

		/** Emits once the deadline has passed; every subscriber, early or late, gets the signal. */
		Mono<Long> passed() {
			return Objects.requireNonNull(this.sink, "a deadline watched with an action only").asMono();
		}

		/**
		 * Also runs something once the deadline passes, whether or not anyone waits on {@link #passed()}
		 * (a body nobody subscribed to).
		 * @param action what to run, on Reactor's parallel scheduler
		 */
		void whenPassed(Runnable action) {
			this.whenPassed = action;
		}

		/** Stops watching: the exchange is over. */
		void done() {
			DeadlineWatch.this.pending.remove(this);
		}

		private void signal() {
			Sinks.One<Long> sink = this.sink;
			if (sink != null) {
				sink.tryEmitValue(this.at);
			}
			this.whenPassed.run();
		}

	}

}
