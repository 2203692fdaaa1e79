package uk.nhs.hee.tis.resilience.policy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreaker.State;
import org.jspecify.annotations.Nullable;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.http.HttpFailureClassifier;

/**
 * Runs calls to one downstream service under its {@link ServicePolicy}, in this order: circuit
 * breaker (one logical call counts once, whatever its retries) → retry (only when safe, with
 * jittered exponential backoff, within the {@link RetryBudget}, never while the breaker is open) →
 * bulkhead (one slot per attempt in flight) → per-attempt deadline (enforced by the attempt itself,
 * on the caller's thread).
 * <p>
 * The breaker and bulkhead are Resilience4j's; one guard, and so one breaker, exists per service
 * and is shared by every client that calls it.
 *
 * @since 0.1.0
 */
public final class ServiceGuard {

	/** How many breaker state changes {@link #recentTransitions()} keeps. */
	public static final int TRANSITIONS_KEPT = 5;

	private final String name;

	private final ServicePolicy policy;

	private final CircuitBreaker circuitBreaker;

	private final Bulkhead bulkhead;

	private final RetryBudget retryBudget;

	private final CallListener listener;

	private final FailureClassifier classifier;

	/**
	 * The guards the current thread is inside, innermost last: a call to a service made while a call to
	 * the same service is running (a protected HTTP call inside {@code CircuitBreakerFactory.run} or a
	 * {@code @Resilient} method) is one logical call, and enters the guard once.
	 */
	private static final ThreadLocal<ArrayDeque<Entered>> ENTERED = ThreadLocal.withInitial(ArrayDeque::new);

	private volatile long openedAtNanos;

	private final Deque<Transition> transitions = new ArrayDeque<>();

	private final AtomicReference<State> observedState = new AtomicReference<>(State.CLOSED);

	ServiceGuard(String name, ServicePolicy policy, CircuitBreaker circuitBreaker, Bulkhead bulkhead,
			CallListener listener, FailureClassifier classifier) {
		this.classifier = classifier;
		this.name = name;
		this.policy = policy;
		this.circuitBreaker = circuitBreaker;
		this.bulkhead = bulkhead;
		this.listener = listener;
		this.retryBudget = new RetryBudget(policy.retry().budgetRatio(), policy.retry().budgetMinPerSecond());
		this.openedAtNanos = System.nanoTime();
		// No event consumer on the breaker: with one, Resilience4j builds an event (and reads the
		// wall clock) on every call. State changes are noticed by observeState() instead.
	}

	/**
	 * Returns the service's name.
	 * @return the name
	 */
	public String name() {
		return this.name;
	}

	/**
	 * Returns the policy calls run under.
	 * @return the policy
	 */
	public ServicePolicy policy() {
		return this.policy;
	}

	/**
	 * Returns the service's circuit breaker.
	 * @return the breaker, shared by every caller of this service
	 */
	public CircuitBreaker circuitBreaker() {
		return this.circuitBreaker;
	}

	/**
	 * Returns the service's bulkhead.
	 * @return the bulkhead
	 */
	public Bulkhead bulkhead() {
		return this.bulkhead;
	}

	/**
	 * Runs a plain callable under the policy. Its exceptions are classified by the registry's
	 * {@link FailureClassifier} (connect failures, timeouts, transient JDBC and data-access failures count
	 * against the service; any other exception counts as a call the service completed); it is retried only
	 * when {@code idempotent}, or when its connection was never established, and never after a timeout.
	 * @param <T> the result type
	 * @param idempotent whether the callable may be run again after it may have reached the service
	 * @param callable the work; it must bound its own time by the policy's response timeout
	 * @return the result
	 * @throws ServiceUnavailableException when the service is unavailable
	 * @throws Exception what the callable threw, when it is not a failure of the service
	 */
	public <T> T execute(boolean idempotent, Callable<T> callable) throws Exception {
		return execute(new GuardedCall<>() {

			@Override
			public boolean idempotent() {
				return idempotent;
			}

			@Override
			public T attempt(Duration timeout) throws Exception {
				return callable.call();
			}

		});
	}

	/**
	 * Runs one logical call under the policy. A call made while the same thread is already inside a call to
	 * this service (nested: a protected HTTP call inside {@code CircuitBreakerFactory.run} for the same
	 * service) is part of that call: it runs its attempt under the deadline and nothing else, and the outer
	 * call alone holds the breaker's permission and a bulkhead slot, retries and counts the outcome.
	 * @param <T> the result type
	 * @param call the call
	 * @return what {@link GuardedCall#handOver} returns for the final result
	 * @throws ServiceUnavailableException when the breaker is open, the bulkhead is full, or the
	 * attempts failed with a connect failure, a timeout or an I/O error
	 * @throws Exception what an attempt threw, when it is not a failure of the service
	 */
	public <T> T execute(GuardedCall<T> call) throws Exception {
		ArrayDeque<Entered> entered = ENTERED.get();
		for (Entered outer : entered) {
			if (outer.guard == this) {
				return nested(call, outer);
			}
		}
		Entered entry = new Entered(this);
		entered.addLast(entry);
		try {
			return guarded(call, entry);
		}
		finally {
			entered.removeLastOccurrence(entry);
		}
	}

	// Inside a call to the same service: the outer call holds the breaker's permission and the bulkhead
	// slot and counts the outcome once. This one runs its attempts under the deadline and retries by its
	// own request's rules (a GET inside CircuitBreakerFactory.run is still retried), within the same retry
	// budget; a failure response it hands over is passed to the outer call to count.
	private <T> T nested(GuardedCall<T> call, Entered outer) throws Exception {
		long start = System.nanoTime();
		for (int attempt = 1;; attempt++) {
			T result;
			try {
				result = call.attempt(this.policy.responseTimeout());
			}
			catch (Exception ex) {
				Reason reason = this.classifier.classify(ex);
				if (reason == null) {
					throw ex;
				}
				if (failsOver(call, reason, ex)) {
					attempt--;
					continue;
				}
				boolean safe = call.idempotent() || HttpFailureClassifier.neverConnected(ex);
				RetryDecision decision = (reason == Reason.TIMEOUT) ? RetryDecision.NO
						: decideRetry(start, attempt, safe, null);
				if (decision == RetryDecision.RETRY && backOff(attempt, null)) {
					continue;
				}
				Reason reported = (decision == RetryDecision.BUDGET_EXHAUSTED) ? Reason.RETRY_BUDGET_EXHAUSTED : reason;
				throw new ServiceUnavailableException(this.name, reported, null, ex);
			}
			GuardedCall.Failure failure = call.failureOf(result);
			if (failure != null
					&& decideRetry(start, attempt, call.idempotent(), failure.retryAfter()) == RetryDecision.RETRY
					&& backOffAfter(call, result, attempt, failure)) {
				continue;
			}
			outer.nestedFailure = failure;
			if (call.finishesAtHandOver()) {
				return result;
			}
			return call.handOver(result, failure, NestedCompletion.INSTANCE);
		}
	}

	private <T> boolean backOffAfter(GuardedCall<T> call, T result, int attempt, GuardedCall.Failure failure) {
		call.discard(result);
		return backOff(attempt, failure.retryAfter());
	}

	private <T> T guarded(GuardedCall<T> call, Entered entry) throws Exception {
		long start = admitted();
		for (int attempt = 1;; attempt++) {
			if (!this.bulkhead.tryAcquirePermission()) {
				this.circuitBreaker.releasePermission();
				this.listener.onCall(this.name, CallOutcome.BULKHEAD_FULL, 0);
				throw rejected(Reason.BULKHEAD_FULL, null);
			}
			T result;
			entry.nestedFailure = null;
			try {
				result = call.attempt(this.policy.responseTimeout());
			}
			catch (Exception ex) {
				this.bulkhead.onComplete();
				if (ex instanceof ServiceUnavailableException unavailable
						&& (unavailable.reason() == Reason.CIRCUIT_OPEN || unavailable.reason() == Reason.BULKHEAD_FULL)) {
					// Rejected further down without any I/O (another service's open breaker, or this one's full
					// bulkhead asked from another thread): nothing was tried, so nothing is counted.
					this.circuitBreaker.releasePermission();
					throw ex;
				}
				if (HttpFailureClassifier.connectionPoolFull(ex)) {
					// The HTTP client's own connection pool turned it away: nothing was sent, a local limit.
					this.circuitBreaker.releasePermission();
					this.listener.onCall(this.name, CallOutcome.BULKHEAD_FULL, 0);
					throw new ServiceUnavailableException(this.name, Reason.BULKHEAD_FULL, null, ex);
				}
				Reason reason = this.classifier.classify(ex);
				if (reason == null) {
					// Not the service failing (a bug, a refused argument): the service did its part. Counted, so
					// that a slow call still counts as slow.
					this.circuitBreaker.onSuccess(elapsed(start), TimeUnit.NANOSECONDS);
					observeState();
					throw ex;
				}
				if (failsOver(call, reason, ex)) {
					attempt--;
					continue;
				}
				boolean safe = call.idempotent() || HttpFailureClassifier.neverConnected(ex);
				// A nested call of this service has already retried by its own rules.
				boolean retriedInside = ex instanceof ServiceUnavailableException unavailable
						&& unavailable.service().equals(this.name);
				// A timed-out attempt is not retried: a slow service is not helped by a second request,
				// and the caller would wait one more response-timeout for it.
				RetryDecision decision = (reason == Reason.TIMEOUT || retriedInside) ? RetryDecision.NO
						: decideRetry(start, attempt, safe, null);
				if (decision == RetryDecision.RETRY && backOff(attempt, null)) {
					continue;
				}
				if (call.failedOnAnOutlier()) {
					// One instance failing, already out of rotation, while others serve: not the service failing.
					this.circuitBreaker.releasePermission();
				}
				else {
					this.circuitBreaker.onError(elapsed(start), TimeUnit.NANOSECONDS, ex);
				}
				observeState();
				this.listener.onCall(this.name, CallOutcome.of(reason), elapsed(start));
				Reason reported = (decision == RetryDecision.BUDGET_EXHAUSTED) ? Reason.RETRY_BUDGET_EXHAUSTED : reason;
				throw new ServiceUnavailableException(this.name, reported, null, ex);
			}
			GuardedCall.Failure failure;
			try {
				failure = call.failureOf(result);
			}
			catch (RuntimeException ex) {
				this.bulkhead.onComplete();
				this.circuitBreaker.releasePermission();
				throw ex;
			}
			boolean retriedInside = failure == null && entry.nestedFailure != null;
			if (retriedInside) {
				// A failure response a nested call of this service handed over without throwing, after its
				// own retries.
				failure = entry.nestedFailure;
			}
			if (failure != null && !retriedInside
					&& decideRetry(start, attempt, call.idempotent(), failure.retryAfter()) == RetryDecision.RETRY) {
				call.discard(result);
				this.bulkhead.onComplete();
				if (backOff(attempt, failure.retryAfter())) {
					continue;
				}
				// Interrupted while backing off: the discarded result cannot be handed over.
				this.circuitBreaker.onError(elapsed(start), TimeUnit.NANOSECONDS, asException(failure));
				observeState();
				this.listener.onCall(this.name, CallOutcome.of(failure.reason()), elapsed(start));
				throw new ServiceUnavailableException(this.name, failure.reason(), failure.retryAfter(), null);
			}
			if (call.finishesAtHandOver()) {
				finish(start, failure, true);
				return result;
			}
			return call.handOver(result, failure, new Completion(start));
		}
	}

	private void finish(long start, GuardedCall.@Nullable Failure failure, boolean releaseBulkhead) {
		if (releaseBulkhead) {
			this.bulkhead.onComplete();
		}
		long elapsed = elapsed(start);
		if (failure == null) {
			this.circuitBreaker.onSuccess(elapsed, TimeUnit.NANOSECONDS);
			observeState();
			this.listener.onCall(this.name, CallOutcome.SUCCESS, elapsed);
		}
		else {
			this.circuitBreaker.onError(elapsed, TimeUnit.NANOSECONDS, asException(failure));
			observeState();
			this.listener.onCall(this.name, CallOutcome.of(failure.reason()), elapsed);
		}
	}

	// A connection refused by one instance, with another in rotation: the request goes there at once.
	private boolean failsOver(GuardedCall<?> call, Reason reason, Exception ex) {
		if (reason != Reason.CONNECT_FAILURE || !HttpFailureClassifier.neverConnected(ex) || isOpen()
				|| !call.canFailOver()) {
			return false;
		}
		this.listener.onFailover(this.name);
		return true;
	}

	// A retry is made only when it starts within the call's first response-timeout (its backoff or
	// Retry-After included), so that however many attempts max-attempts allows, a caller waits less than two
	// response-timeouts and one backoff (decision 0028).
	private RetryDecision decideRetry(long callStart, int attempt, boolean safe, @Nullable Duration retryAfter) {
		if (!safe || attempt >= this.policy.retry().maxAttempts() || isOpen()) {
			return RetryDecision.NO;
		}
		// The longest the backoff can be (jitter only shortens it), or the Retry-After when longer.
		long longestBackoff = (long) Math.min(exponentialBackoffNanos(attempt), this.policy.retry().maxBackoff().toNanos());
		long waitNanos = Math.max(longestBackoff, (retryAfter != null) ? retryAfter.toNanos() : 0);
		if (System.nanoTime() - callStart + waitNanos >= this.policy.responseTimeout().toNanos()) {
			return RetryDecision.NO;
		}
		if (retryAfter != null && retryAfter.compareTo(this.policy.retry().maxBackoff()) > 0) {
			return RetryDecision.NO;
		}
		return this.retryBudget.tryAcquireRetry() ? RetryDecision.RETRY : RetryDecision.BUDGET_EXHAUSTED;
	}

	/**
	 * Notices whether the breaker changed state since it was last looked at, and if so records the
	 * change and tells the listener. The guard calls it around every call; call it after changing
	 * the breaker by hand (an operator's force-open). Changes in between two looks show as one
	 * (CLOSED to OPEN to HALF_OPEN seen as CLOSED to HALF_OPEN).
	 */
	public void observeState() {
		State now = this.circuitBreaker.getState();
		State before = this.observedState.get();
		if (now != before && this.observedState.compareAndSet(before, now)) {
			if (now == State.OPEN) {
				this.openedAtNanos = System.nanoTime();
			}
			CircuitBreaker.Metrics metrics = this.circuitBreaker.getMetrics();
			Transition transition = new Transition(before, now, Instant.now(), metrics.getFailureRate(),
					metrics.getSlowCallRate());
			remember(transition);
			this.listener.onTransition(this.name, transition);
		}
	}

	/**
	 * Returns the last few state changes of the breaker, oldest first.
	 * @return up to {@value #TRANSITIONS_KEPT} transitions
	 */
	public List<Transition> recentTransitions() {
		synchronized (this.transitions) {
			return List.copyOf(this.transitions);
		}
	}

	private void remember(Transition transition) {
		synchronized (this.transitions) {
			if (this.transitions.size() == TRANSITIONS_KEPT) {
				this.transitions.removeFirst();
			}
			this.transitions.addLast(transition);
		}
	}

	/**
	 * Returns who is told of every call that ends.
	 * @return the listener
	 */
	public CallListener listener() {
		return this.listener;
	}

	private boolean isOpen() {
		State state = this.circuitBreaker.getState();
		return state == State.OPEN || state == State.FORCED_OPEN;
	}

	// Sleeps before the next attempt; false when interrupted (the interrupt is kept).
	private boolean backOff(int attempt, @Nullable Duration retryAfter) {
		long waitNanos = backoffNanos(attempt, retryAfter);
		long until = System.nanoTime() + waitNanos;
		for (long left = waitNanos; left > 0; left = until - System.nanoTime()) {
			LockSupport.parkNanos(this, left);
			if (Thread.currentThread().isInterrupted()) {
				return false;
			}
		}
		return true;
	}

	// Before the n-th retry: initial-backoff, times multiplier for each retry before it.
	private double exponentialBackoffNanos(int attempt) {
		ServicePolicy.RetryPolicy retry = this.policy.retry();
		return retry.initialBackoff().toNanos() * Math.pow(retry.multiplier(), attempt - 1);
	}

	// Exponential from initial-backoff, less up to jitter of it, capped at max-backoff; never shorter than
	// the service's Retry-After.
	private long backoffNanos(int attempt, @Nullable Duration retryAfter) {
		ServicePolicy.RetryPolicy retry = this.policy.retry();
		double base = exponentialBackoffNanos(attempt);
		double jittered = base * (1 - retry.jitter() * ThreadLocalRandom.current().nextDouble());
		long waitNanos = (long) Math.min(jittered, retry.maxBackoff().toNanos());
		if (retryAfter != null) {
			waitNanos = Math.max(waitNanos, retryAfter.toNanos());
		}
		return waitNanos;
	}

	/**
	 * Starts one logical call for a caller that must not block (a reactive client), which then drives its
	 * attempts through the returned {@link Admission}: the same breaker, bulkhead, retry budget, retry rules
	 * and outcome recording as {@link #execute(GuardedCall)}, with the waiting between attempts left to the
	 * caller's scheduler. Never blocks.
	 * @return the admitted call
	 * @throws ServiceUnavailableException with {@link Reason#CIRCUIT_OPEN} when the breaker is open
	 * @since 0.2.0
	 */
	public Admission admit() {
		return new Admission(admitted());
	}

	// The breaker's permission for one logical call, recorded for the retry budget; its start time.
	private long admitted() {
		boolean permitted = this.circuitBreaker.tryAcquirePermission();
		observeState();
		if (!permitted) {
			this.listener.onCall(this.name, CallOutcome.CIRCUIT_OPEN, 0);
			throw rejected(Reason.CIRCUIT_OPEN, remainingOpenTime());
		}
		long start = System.nanoTime();
		this.retryBudget.recordCall(start);
		return start;
	}

	private long elapsed(long start) {
		return System.nanoTime() - start;
	}

	private @Nullable Duration remainingOpenTime() {
		if (this.circuitBreaker.getState() != State.OPEN) {
			return null;
		}
		long waited = System.nanoTime() - this.openedAtNanos;
		long remaining = this.policy.circuitBreaker().waitDurationInOpenState().toNanos() - waited;
		return Duration.ofNanos(Math.max(remaining, TimeUnit.MILLISECONDS.toNanos(1)));
	}

	private ServiceUnavailableException rejected(Reason reason, @Nullable Duration retryAfter) {
		return new ServiceUnavailableException(this.name, reason, retryAfter, null);
	}

	private ServiceUnavailableException asException(GuardedCall.Failure failure) {
		return new ServiceUnavailableException(this.name, failure.reason(), failure.retryAfter(), null);
	}

	@Override
	public String toString() {
		return "service '" + this.name + "': " + this.policy;
	}

	/**
	 * A state change of a service's breaker.
	 *
	 * @param from the state before
	 * @param to the state after
	 * @param at when it changed
	 * @param failureRate the failure rate (percent) when it changed, -1 when not yet computed
	 * @param slowCallRate the slow call rate (percent) when it changed, -1 when not yet computed
	 * @since 0.1.0
	 */
	public record Transition(State from, State to, Instant at, float failureRate, float slowCallRate) {
	}

	/**
	 * One logical call admitted by {@link #admit()}, driven attempt by attempt by a caller that does not
	 * block. Each attempt starts with {@link #startAttempt()}; a failed one asks {@link #retryDelay} whether
	 * to try again; the call ends through {@link #completion()} (an answer handed over, finished when its
	 * body ends), {@link #failed} (no answer) or {@link #cancelled()}. Not for use by several threads at once.
	 *
	 * @since 0.2.0
	 */
	public final class Admission {

		private final Completion completion;

		private boolean budgetExhausted;

		/**
		 * Whether the current attempt holds a bulkhead slot. Given back exactly once, whoever gets there first:
		 * a caller's cancel can race the attempt's own end on another thread.
		 */
		private final AtomicBoolean slotHeld = new AtomicBoolean();

		Admission(long start) {
			this.completion = new Completion(start, this);
		}

		private void releaseSlot() {
			if (this.slotHeld.getAndSet(false)) {
				ServiceGuard.this.bulkhead.onComplete();
			}
		}

		/**
		 * Takes a bulkhead slot for the next attempt, or ends the call at once when the bulkhead is full.
		 * @throws ServiceUnavailableException with {@link Reason#BULKHEAD_FULL}; the call is then over
		 */
		public void startAttempt() {
			// Resilience4j's tryAcquirePermission waits up to max-wait-duration for a slot: a caller that must
			// not block is rejected at once when none is free. (Only a slot taken by another thread between
			// the look and the take can make it wait, up to max-wait-duration.)
			Bulkhead bulkhead = ServiceGuard.this.bulkhead;
			boolean free = bulkhead.getMetrics().getAvailableConcurrentCalls() > 0;
			if (!free || !bulkhead.tryAcquirePermission()) {
				ServiceGuard.this.circuitBreaker.releasePermission();
				ServiceGuard.this.listener.onCall(ServiceGuard.this.name, CallOutcome.BULKHEAD_FULL, 0);
				this.completion.finished.set(true);
				throw rejected(Reason.BULKHEAD_FULL, null);
			}
			this.slotHeld.set(true);
			if (this.completion.finished.get()) {
				// Cancelled while the slot was being taken: nothing will end this attempt, so give it back now.
				releaseSlot();
			}
		}

		/**
		 * Decides, after attempt number {@code attempt} failed, whether another follows, by the same rules as
		 * the blocking path: only when {@code safe}, never after an attempt that ran out of time (a failure
		 * status such as 408 is the service answering, and may be retried), never while the breaker is open,
		 * within {@code max-attempts} and the retry budget, and not for a {@code Retry-After} longer than
		 * {@code max-backoff}. When one follows, the failed attempt's bulkhead slot is given back.
		 * @param attempt the number of the attempt that failed, from 1
		 * @param safe whether the request may be sent again (idempotent, or never sent)
		 * @param reason why the attempt failed
		 * @param answered whether the service answered with a failure status, rather than the attempt failing
		 * @param retryAfter the service's {@code Retry-After}, if any
		 * @return the wait before the next attempt (jittered exponential backoff, at least
		 * {@code retryAfter}), or {@code null} when none follows
		 */
		public @Nullable Duration retryDelay(int attempt, boolean safe, Reason reason, boolean answered,
				@Nullable Duration retryAfter) {
			RetryDecision decision = (reason == Reason.TIMEOUT && !answered) ? RetryDecision.NO
					: decideRetry(this.completion.start, attempt, safe, retryAfter);
			if (decision != RetryDecision.RETRY) {
				this.budgetExhausted = decision == RetryDecision.BUDGET_EXHAUSTED;
				return null;
			}
			releaseSlot();
			return Duration.ofNanos(backoffNanos(attempt, retryAfter));
		}

		/**
		 * After an attempt that could not connect to one instance of the service, when another instance in
		 * rotation can take the request (see {@link GuardedCall#canFailOver()}): decides whether the next
		 * attempt goes there at once, as a failover rather than a retry. Not while the breaker is open. When
		 * it does, the failed attempt's bulkhead slot is given back.
		 * @return whether the request fails over
		 * @since 0.3.0
		 */
		public boolean failOver() {
			if (isOpen()) {
				return false;
			}
			releaseSlot();
			ServiceGuard.this.listener.onFailover(ServiceGuard.this.name);
			return true;
		}

		/**
		 * Ends the call without an answer to hand over: counts the failure and gives back the slot.
		 * @param reason why the last attempt failed
		 * @param cause what it failed with
		 * @return the exception to signal to the caller ({@link Reason#RETRY_BUDGET_EXHAUSTED} when a retry
		 * was wanted but the budget was spent)
		 */
		public ServiceUnavailableException failed(Reason reason, Throwable cause) {
			return failed(reason, cause, false);
		}

		/**
		 * Ends the call without an answer to hand over, as {@link #failed(Reason, Throwable)}; when the last
		 * attempt failed on an instance already out of rotation while others serve (see
		 * {@link GuardedCall#failedOnAnOutlier()}), the breaker does not count it.
		 * @param reason why the last attempt failed
		 * @param cause what it failed with
		 * @param onOutlier whether it failed on an instance out of rotation while others serve
		 * @return the exception to signal to the caller
		 * @since 0.3.0
		 */
		public ServiceUnavailableException failed(Reason reason, Throwable cause, boolean onOutlier) {
			if (onOutlier && this.completion.finished.compareAndSet(false, true)) {
				releaseSlot();
				ServiceGuard.this.circuitBreaker.releasePermission();
				ServiceGuard.this.listener.onCall(ServiceGuard.this.name, CallOutcome.of(reason),
						System.nanoTime() - this.completion.start);
			}
			else {
				this.completion.finish(new GuardedCall.Failure(reason, null));
			}
			Reason reported = this.budgetExhausted ? Reason.RETRY_BUDGET_EXHAUSTED : reason;
			return new ServiceUnavailableException(ServiceGuard.this.name, reported, null, cause);
		}

		/**
		 * Returns what finishes the call once the answer handed over has been used: its body read, failed or
		 * released. Only the first finish counts.
		 * @return the completion
		 */
		public CallCompletion completion() {
			return this.completion;
		}

		/**
		 * Ends the call turned away by a local limit below the guard before anything was sent (the HTTP
		 * client's own connection pool full, see {@link HttpFailureClassifier#connectionPoolFull(Throwable)}):
		 * gives back the breaker's permission and the bulkhead slot and counts it as a full bulkhead is
		 * counted, not against the service.
		 * @param cause what the client failed with
		 * @return the exception to signal to the caller, with {@link Reason#BULKHEAD_FULL}
		 * @since 0.3.0
		 */
		public ServiceUnavailableException rejectedLocally(Throwable cause) {
			if (this.completion.finished.compareAndSet(false, true)) {
				releaseSlot();
				ServiceGuard.this.circuitBreaker.releasePermission();
				ServiceGuard.this.listener.onCall(ServiceGuard.this.name, CallOutcome.BULKHEAD_FULL, 0);
			}
			return new ServiceUnavailableException(ServiceGuard.this.name, Reason.BULKHEAD_FULL, null, cause);
		}

		/**
		 * Ends a call its caller gave up on before any outcome (a cancelled subscription): gives back the
		 * breaker's permission and the bulkhead slot, counting nothing.
		 */
		public void cancelled() {
			if (this.completion.finished.compareAndSet(false, true)) {
				releaseSlot();
				ServiceGuard.this.circuitBreaker.releasePermission();
			}
		}

	}

	/** A call to a guard running on the current thread, and what its nested calls handed over. */
	private static final class Entered {

		final ServiceGuard guard;

		GuardedCall.@Nullable Failure nestedFailure;

		Entered(ServiceGuard guard) {
			this.guard = guard;
		}

	}

	private enum NestedCompletion implements CallCompletion {

		INSTANCE;

		@Override
		public void finish(GuardedCall.@Nullable Failure failure) {
		}

		@Override
		public void finish(Throwable exception) {
		}

	}

	private enum RetryDecision {

		RETRY, NO, BUDGET_EXHAUSTED

	}

	private final class Completion implements CallCompletion {

		private final long start;

		private final AtomicBoolean finished = new AtomicBoolean();

		/** The non-blocking call this completes, whose attempt's slot is given back once; null for execute(). */
		private final @Nullable Admission admission;

		Completion(long start) {
			this(start, null);
		}

		Completion(long start, @Nullable Admission admission) {
			this.start = start;
			this.admission = admission;
		}

		@Override
		public void finish(GuardedCall.@Nullable Failure failure) {
			if (!this.finished.compareAndSet(false, true)) {
				return;
			}
			if (this.admission != null) {
				this.admission.releaseSlot();
			}
			ServiceGuard.this.finish(this.start, failure, this.admission == null);
		}

		@Override
		public void finish(Throwable exception) {
			Reason reason = ServiceGuard.this.classifier.classify(exception);
			if (reason != null) {
				finish(new GuardedCall.Failure(reason, null));
			}
			else {
				// Not the service failing: it did its part, as in execute().
				finish((GuardedCall.Failure) null);
			}
		}

	}

}
