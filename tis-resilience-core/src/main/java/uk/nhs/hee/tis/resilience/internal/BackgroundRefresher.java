package uk.nhs.hee.tis.resilience.internal;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

import org.jspecify.annotations.Nullable;

/**
 * Runs one fetch at a time on a dedicated daemon thread: on a schedule that the owner computes
 * after each fetch, and on demand, where every caller asking while a fetch is running shares it.
 * Used by the JWK set source and the service-token cache, which must never fetch twice at once nor
 * make a request thread do the I/O. The owner bounds each fetch (a total deadline): a fetch that
 * never ends would stop every later one.
 */
public final class BackgroundRefresher implements AutoCloseable {

	private final BooleanSupplier fetch;

	private final Function<Boolean, Duration> nextDelay;

	private final ScheduledExecutorService thread;

	private final AtomicReference<@Nullable CompletableFuture<Boolean>> inFlight = new AtomicReference<>();

	/**
	 * Creates a refresher.
	 * @param threadName the name of its thread
	 * @param fetch fetches once; answers whether it succeeded; must not throw
	 * @param nextDelay given whether the last fetch succeeded, how long until the next scheduled one
	 */
	public BackgroundRefresher(String threadName, BooleanSupplier fetch, Function<Boolean, Duration> nextDelay) {
		this.fetch = fetch;
		this.nextDelay = nextDelay;
		this.thread = Executors.newSingleThreadScheduledExecutor((task) -> {
			Thread daemon = new Thread(task, threadName);
			daemon.setDaemon(true);
			return daemon;
		});
	}

	/**
	 * Fetches now, in the background, then keeps fetching on the owner's schedule.
	 * @return the first fetch's outcome, which an owner may wait for at startup (never on a request
	 * thread)
	 */
	public CompletableFuture<Boolean> start() {
		CompletableFuture<Boolean> first = new CompletableFuture<>();
		try {
			this.thread.execute(() -> fetchAndReschedule(first));
		}
		catch (RuntimeException ex) {
			first.complete(false);
		}
		return first;
	}

	/**
	 * Starts a fetch unless one is running.
	 * @return the running fetch's outcome
	 */
	public CompletableFuture<Boolean> refresh() {
		CompletableFuture<Boolean> mine = new CompletableFuture<>();
		CompletableFuture<Boolean> existing = this.inFlight.compareAndExchange(null, mine);
		if (existing != null) {
			return existing;
		}
		try {
			this.thread.execute(() -> fetch(mine));
		}
		catch (RuntimeException ex) {
			this.inFlight.set(null);
			mine.complete(false);
		}
		return mine;
	}

	/**
	 * Returns the fetch running now, if any.
	 * @return its outcome, or {@code null}
	 */
	public @Nullable CompletableFuture<Boolean> running() {
		return this.inFlight.get();
	}

	/**
	 * Waits for a fetch.
	 * @param fetch the fetch's outcome
	 * @param limit the longest wait
	 * @return whether it succeeded within the limit
	 */
	public static boolean await(CompletableFuture<Boolean> fetch, Duration limit) {
		try {
			return fetch.get(limit.toMillis(), TimeUnit.MILLISECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return false;
		}
		catch (ExecutionException | TimeoutException ex) {
			return false;
		}
	}

	@Override
	public void close() {
		this.thread.shutdownNow();
	}

	private boolean fetch(CompletableFuture<Boolean> outcome) {
		boolean succeeded = false;
		try {
			succeeded = this.fetch.getAsBoolean();
		}
		finally {
			this.inFlight.set(null);
			outcome.complete(succeeded);
		}
		return succeeded;
	}

	private void fetchAndReschedule(CompletableFuture<Boolean> outcome) {
		CompletableFuture<Boolean> mine = new CompletableFuture<>();
		CompletableFuture<Boolean> existing = this.inFlight.compareAndExchange(null, mine);
		if (existing != null) {
			// A caller's fetch is queued on this thread: plan the next one once it is done.
			existing.whenComplete((succeeded, ex) -> {
				outcome.complete(Boolean.TRUE.equals(succeeded));
				schedule(Boolean.TRUE.equals(succeeded));
			});
			return;
		}
		boolean succeeded = false;
		try {
			succeeded = fetch(mine);
		}
		finally {
			outcome.complete(succeeded);
		}
		schedule(succeeded);
	}

	private void schedule(boolean succeeded) {
		Duration delay = this.nextDelay.apply(succeeded);
		try {
			this.thread.schedule(() -> fetchAndReschedule(new CompletableFuture<>()), Math.max(0, delay.toMillis()),
					TimeUnit.MILLISECONDS);
		}
		catch (RuntimeException ex) {
			// Closed: nothing more to fetch.
		}
	}

}
