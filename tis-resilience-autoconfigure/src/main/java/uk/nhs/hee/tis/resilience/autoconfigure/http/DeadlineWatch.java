package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.Objects;

import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * The deadlines of reactive exchanges, watched by the starter's one deadline thread ({@link Deadlines}); a
 * deadline is signalled on Reactor's parallel scheduler, so no caller's code runs on the watching thread.
 */
final class DeadlineWatch {

	private static final DeadlineWatch SHARED = new DeadlineWatch();

	private static final Runnable NOTHING = () -> {
	};

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
		Deadlines.watch(deadline);
		return deadline;
	}

	/** One exchange's deadline. */
	final class Deadline implements Deadlines.Due {

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
			Deadlines.forget(this);
		}

		@Override
		public long dueAtNanos() {
			return this.at;
		}

		@Override
		public void reached() {
			Schedulers.parallel().schedule(this::signal);
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
