package uk.nhs.hee.tis.resilience.policy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.junit.jupiter.api.Test;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.http.RequestSentException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

/** The guard on plain callables, as {@code @Resilient} and Spring Cloud's factory use it. */
class ServiceGuardTests {

	private final ServicePolicy policy = ServicePolicy.defaults()
		.withRetry(new ServicePolicy.RetryPolicy(3, Duration.ofMillis(1), 2, 0.5, Duration.ofSeconds(1), 0.2, 10))
		.withBulkhead(new ServicePolicy.BulkheadPolicy(1, Duration.ZERO));

	private final ServiceGuardRegistry registry = new ServiceGuardRegistry(this.policy,
			Map.of("keycloak-admin", this.policy), 2);

	private final ServiceGuard guard = this.registry.guard("keycloak-admin");

	private final AtomicInteger attempts = new AtomicInteger();

	@Test
	void rejectsWithoutCallingWhileTheBreakerIsOpen() {
		this.guard.circuitBreaker().transitionToOpenState();
		assertThatExceptionOfType(ServiceUnavailableException.class)
			.isThrownBy(() -> this.guard.execute(true, this.attempts::incrementAndGet))
			.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CIRCUIT_OPEN))
			.satisfies((ex) -> assertThat(ex.retryAfter()).isPresent());
		assertThat(this.attempts).hasValue(0);
	}

	@Test
	void retriesAnIdempotentCallThatCouldNotConnectThenReportsIt() {
		assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> this.guard.execute(true, () -> {
			this.attempts.incrementAndGet();
			throw new ConnectException("refused");
		})).satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CONNECT_FAILURE));
		assertThat(this.attempts).hasValue(3);
		assertThat(this.guard.circuitBreaker().getMetrics().getNumberOfFailedCalls()).isEqualTo(1);
	}

	@Test
	void neverRepeatsACallThatIsNotIdempotentOnceItMayHaveReachedTheService() {
		assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> this.guard.execute(false, () -> {
			this.attempts.incrementAndGet();
			throw new IOException("Connection reset");
		})).satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.SERVER_ERROR));
		assertThat(this.attempts).hasValue(1);
	}

	@Test
	void repeatsACallThatIsNotIdempotentOnlyWhenItCannotHaveBeenSent() {
		// By default a connect failure is a request never sent: repeated whatever the method.
		assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> this.guard.execute(false, () -> {
			this.attempts.incrementAndGet();
			throw new ConnectException("refused");
		})).satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CONNECT_FAILURE));
		assertThat(this.attempts).hasValue(3);
		// A refusal after the request may have reached a server (a redirect's target): sent once, and still a
		// connect failure.
		AtomicInteger redirected = new AtomicInteger();
		assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> this.guard.execute(false, () -> {
			redirected.incrementAndGet();
			throw new RequestSentException("sent to the first server", new ConnectException("refused"));
		})).satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.CONNECT_FAILURE));
		assertThat(redirected).hasValue(1);
	}

	@Test
	void startsNoRetryOnceTheCallHasTakenItsResponseTimeout() {
		ServicePolicy quick = this.policy.withResponseTimeout(Duration.ofMillis(100));
		ServiceGuard guard = new ServiceGuardRegistry(quick, Map.of("profile", quick), 1).guard("profile");
		// An attempt that fails late (a reset after 150 ms of a 100 ms budget spent elsewhere, say): no second one.
		assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> guard.execute(true, () -> {
			this.attempts.incrementAndGet();
			java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(150));
			throw new IOException("Connection reset");
		})).satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.SERVER_ERROR));
		assertThat(this.attempts).hasValue(1);
		// One that fails at once is retried as max-attempts says.
		AtomicInteger quickFailures = new AtomicInteger();
		assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> guard.execute(true, () -> {
			quickFailures.incrementAndGet();
			throw new IOException("Connection reset");
		}));
		assertThat(quickFailures).hasValue(3);
	}

	@Test
	void stopsRetryingOnceTheBreakerOpens() {
		assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> this.guard.execute(true, () -> {
			this.attempts.incrementAndGet();
			this.guard.circuitBreaker().transitionToForcedOpenState();
			throw new UncheckedIOException(new ConnectException("refused"));
		}));
		assertThat(this.attempts).hasValue(1);
	}

	@Test
	void passesOnExceptionsThatSayNothingOfAvailabilityCountingTheCallAsCompleted() {
		assertThatIllegalStateException().isThrownBy(() -> this.guard.execute(true, () -> {
			this.attempts.incrementAndGet();
			throw new IllegalStateException("bug in the caller");
		}));
		assertThat(this.attempts).hasValue(1);
		CircuitBreaker.Metrics metrics = this.guard.circuitBreaker().getMetrics();
		assertThat(metrics.getNumberOfFailedCalls()).isZero();
		assertThat(metrics.getNumberOfSuccessfulCalls()).isEqualTo(1);
	}

	@Test
	void rejectsACallBeyondTheBulkheadAtOnce() throws Exception {
		CountDownLatch inside = new CountDownLatch(1);
		CountDownLatch release = new CountDownLatch(1);
		ExecutorService executor = Executors.newSingleThreadExecutor();
		try {
			Future<String> first = executor.submit(() -> this.guard.execute(true, () -> {
				inside.countDown();
				release.await();
				return "first";
			}));
			assertThat(inside.await(5, TimeUnit.SECONDS)).isTrue();
			assertThatExceptionOfType(ServiceUnavailableException.class)
				.isThrownBy(() -> this.guard.execute(true, this.attempts::incrementAndGet))
				.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.BULKHEAD_FULL));
			release.countDown();
			assertThat(first.get(5, TimeUnit.SECONDS)).isEqualTo("first");
			assertThat(this.attempts).hasValue(0);
		}
		finally {
			executor.shutdownNow();
		}
	}

	@Test
	void recordsBreakerTransitionsAndTellsTheListenerWithoutAnEventConsumer() {
		java.util.List<String> told = new java.util.concurrent.CopyOnWriteArrayList<>();
		CallListener listener = new CallListener() {

			@Override
			public void onCall(String service, CallOutcome outcome, long durationNanos) {
			}

			@Override
			public void onTransition(String service, ServiceGuard.Transition transition) {
				told.add(service + ":" + transition.from() + "->" + transition.to());
			}

		};
		ServicePolicy opensFast = this.policy.withCircuitBreaker(new ServicePolicy.CircuitBreakerPolicy(50,
				Duration.ofSeconds(2), 80, 2, 2, Duration.ofSeconds(30), 1));
		ServiceGuard watched = new ServiceGuardRegistry(opensFast, Map.of("profile", opensFast), 1, listener)
			.guard("profile");
		for (int i = 0; i < 2; i++) {
			assertThatExceptionOfType(ServiceUnavailableException.class).isThrownBy(() -> watched.execute(false, () -> {
				throw new ConnectException("refused");
			}));
		}
		assertThat(told).containsExactly("profile:CLOSED->OPEN");
		assertThat(watched.recentTransitions()).singleElement()
			.satisfies((transition) -> assertThat(transition.failureRate()).isEqualTo(100f));
		assertThat(watched.circuitBreaker().getEventPublisher()).isNotNull();
	}

	@Test
	void sharesOneGuardForUnconfiguredServicesOnceTheRegistryIsFull() {
		ServiceGuard first = this.registry.guard("a:80");
		ServiceGuard second = this.registry.guard("b:80");
		ServiceGuard third = this.registry.guard("c:80");
		ServiceGuard fourth = this.registry.guard("d:80");
		assertThat(first.name()).isEqualTo("a:80");
		assertThat(second.name()).isEqualTo("b:80");
		assertThat(third.name()).isEqualTo(ServiceGuardRegistry.OVERFLOW_SERVICE);
		assertThat(fourth).isSameAs(third);
		assertThat(this.registry.guard("a:80")).isSameAs(first);
		assertThat(this.registry.guard("keycloak-admin")).isSameAs(this.guard);
	}

	@Test
	void boundsTheRegistryWhateverTheNumberOfHosts() {
		for (int i = 0; i < 10_000; i++) {
			this.registry.guard("host-" + i + ":80");
		}
		assertThat(this.registry.guards()).hasSize(4);
		assertThat(this.registry.circuitBreakerRegistry().getAllCircuitBreakers()).hasSize(4);
	}

	// A reactive caller's cancel runs on its own thread while the attempt ends on another: whichever order they
	// come in, the attempt's bulkhead slot is given back exactly once (the bulkhead here has one slot).
	@Test
	void givesAnAttemptsSlotBackOnceWhenACancelRacesTheRetryDecisionOrTheAnswer() {
		ServiceGuard.Admission cancelledFirst = this.guard.admit();
		cancelledFirst.startAttempt();
		cancelledFirst.cancelled();
		cancelledFirst.retryDelay(1, true, Reason.SERVER_ERROR, true, null);
		cancelledFirst.completion().finish((GuardedCall.Failure) null);
		assertThat(this.guard.bulkhead().getMetrics().getAvailableConcurrentCalls()).isEqualTo(1);
		ServiceGuard.Admission retriedFirst = this.guard.admit();
		retriedFirst.startAttempt();
		assertThat(retriedFirst.retryDelay(1, true, Reason.SERVER_ERROR, true, null)).isNotNull();
		retriedFirst.cancelled();
		assertThat(this.guard.bulkhead().getMetrics().getAvailableConcurrentCalls()).isEqualTo(1);
		ServiceGuard.Admission answeredFirst = this.guard.admit();
		answeredFirst.startAttempt();
		answeredFirst.completion().finish((GuardedCall.Failure) null);
		answeredFirst.cancelled();
		assertThat(this.guard.bulkhead().getMetrics().getAvailableConcurrentCalls()).isEqualTo(1);
	}

	@Test
	void givesBackASlotTakenForACallCancelledMeanwhile() {
		ServiceGuard.Admission admission = this.guard.admit();
		admission.cancelled();
		admission.startAttempt();
		assertThat(this.guard.bulkhead().getMetrics().getAvailableConcurrentCalls()).isEqualTo(1);
	}

}
