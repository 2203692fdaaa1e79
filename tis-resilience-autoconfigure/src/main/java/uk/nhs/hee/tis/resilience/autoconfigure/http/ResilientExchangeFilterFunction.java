package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.contextpropagation.ObservationThreadLocalAccessor;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;
import reactor.util.context.Context;
import reactor.util.context.ContextView;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DefaultDataBufferFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatusCode;
import org.springframework.web.reactive.function.client.ClientRequest;
import org.springframework.web.reactive.function.client.ClientResponse;
import org.springframework.web.reactive.function.client.ExchangeFilterFunction;
import org.springframework.web.reactive.function.client.ExchangeFunction;
import org.springframework.web.reactive.function.client.ExchangeStrategies;
import org.springframework.web.reactive.function.client.WebClientRequestException;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.InstanceAttempt;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.LoadBalancedInstances;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.OnceLookup;
import uk.nhs.hee.tis.resilience.autoconfigure.token.ServiceTokenProvider;
import uk.nhs.hee.tis.resilience.http.HttpFailureClassifier;
import uk.nhs.hee.tis.resilience.http.RequestSentException;
import uk.nhs.hee.tis.resilience.internal.BrokenOffResponseException;
import uk.nhs.hee.tis.resilience.internal.FailureResponseMark;
import uk.nhs.hee.tis.resilience.policy.CallCompletion;
import uk.nhs.hee.tis.resilience.policy.CallOutcome;
import uk.nhs.hee.tis.resilience.policy.GuardedCall.Failure;
import uk.nhs.hee.tis.resilience.policy.ServiceGuard;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Runs every exchange of a {@code WebClient} under the guard of the service it belongs to — the same
 * {@link ServiceGuard} (breaker, bulkhead, retry budget) as the blocking clients — without blocking: an
 * open breaker or a full bulkhead is an error signal at once, with no I/O; the deadline covers the whole
 * exchange, headers and body, watched by {@link DeadlineWatch}; retries wait with {@code Mono.delay} on Reactor's
 * parallel scheduler. The retry rules and failure classification are the guard's (see decision record
 * 0021). A failure response (5xx, 408, 429) that is not retried is handed over, marked with its service
 * as the blocking clients mark it; its body, like any body, finishes the call when it ends.
 */
final class ResilientExchangeFilterFunction implements ExchangeFilterFunction {

	private static final Log logger = LogFactory.getLog(ResilientExchangeFilterFunction.class);

	/** The Reactor context key of a call made while a probe runs: it never probes in turn. */
	private static final String INSIDE_A_PROBE = ResilientExchangeFilterFunction.class.getName() + ".insideAProbe";

	private final ServiceGuardRegistry registry;

	private final ServiceResolver resolver;

	private final OnceLookup<ServiceTokenProvider> serviceTokens;

	private final OnceLookup<LoadBalancedInstances> instances;

	private final OnceLookup<ObservationRegistry> observations;

	private final Clock clock = Clock.systemUTC();

	private final StaleResponseCache staleResponses;

	/**
	 * Whether this client's connector records requests as sent (the starter's does): null until a
	 * response tells. A probe runs only once it is known to, since a probe through any other connector
	 * would really be sent.
	 */
	private volatile @Nullable Boolean connectorRecords;

	/** Whether this client was named as sending through a connector of its own. */
	private volatile boolean ownConnectorNamed;

	/** Whether a probe has once been answered by the starter's connector, sending nothing. */
	private final AtomicBoolean probeConfirmed = new AtomicBoolean();

	/** Whether a probe is running, while none has yet been confirmed: until then, one at a time. */
	private final AtomicBoolean probeInFlight = new AtomicBoolean();

	/** This client's codecs, as its last response had them: a stale copy is read with the same. */
	private volatile ExchangeStrategies strategies = ExchangeStrategies.withDefaults();

	ResilientExchangeFilterFunction(ServiceGuardRegistry registry, ServiceResolver resolver,
			ObjectProvider<ServiceTokenProvider> serviceTokens, ObjectProvider<LoadBalancedInstances> instances,
			ObjectProvider<ObservationRegistry> observations, StaleResponseCache staleResponses) {
		this(registry, resolver, new OnceLookup<>(serviceTokens), new OnceLookup<>(instances),
				new OnceLookup<>(observations), staleResponses);
	}

	private ResilientExchangeFilterFunction(ServiceGuardRegistry registry, ServiceResolver resolver,
			OnceLookup<ServiceTokenProvider> serviceTokens, OnceLookup<LoadBalancedInstances> instances,
			OnceLookup<ObservationRegistry> observations, StaleResponseCache staleResponses) {
		this.registry = registry;
		this.resolver = resolver;
		this.serviceTokens = serviceTokens;
		this.instances = instances;
		this.observations = observations;
		this.staleResponses = staleResponses;
		// The failure mark is drawn from SecureRandom, which reads /dev/urandom: at startup, never on an event loop.
		FailureResponseMark.of(ResilientExchangeFilterFunction.class.getSimpleName());
	}

	/**
	 * The filter for one more client (one WebClient builder or bean): the same guards and copies, its own
	 * knowledge of its connector and codecs.
	 */
	ResilientExchangeFilterFunction forClient() {
		return new ResilientExchangeFilterFunction(this.registry, this.resolver, this.serviceTokens, this.instances,
				this.observations, this.staleResponses);
	}

	@Override
	public Mono<ClientResponse> filter(ClientRequest request, ExchangeFunction next) {
		return Mono.deferContextual((context) -> {
			ServiceGuard guard = this.registry.guard(this.resolver.resolve(request.url()));
			ObservedCall observed = observe(guard.name(), context);
			long start = System.nanoTime();
			ClientRequest sent;
			String serviceToken;
			try {
				serviceToken = serviceTokenFor(guard.name(), request);
			}
			catch (RuntimeException ex) {
				if (observed != null) {
					observed.end(ObservedCall.outcomeOf(ex), ex);
				}
				return Mono.error(ex);
			}
			sent = (serviceToken != null)
					? ClientRequest.from(request).headers((headers) -> headers.setBearerAuth(serviceToken)).build() : request;
			StaleCopies copies = null;
			if (request.method() == HttpMethod.GET && !guard.policy().staleIfError().isZero()) {
				WireRecordingConnector.Record wire = new WireRecordingConnector.Record();
				sent = ClientRequest.from(sent).attribute(WireRecordingConnector.ATTRIBUTE, wire).build();
				copies = new StaleCopies(guard, sent, next, wire, serviceToken, observed, start);
			}
			Mono<ClientResponse> call;
			ServiceGuard.Admission admission;
			try {
				admission = guard.admit();
			}
			catch (ServiceUnavailableException ex) {
				call = Mono.error(ex);
				if (copies != null) {
					call = copies.servedInstead(call, true);
				}
				return (observed != null) ? observedUntilHandedOver(call, observed) : call;
			}
			boolean idempotent = HttpFailureClassifier.isIdempotent(request.method().name(),
					request.headers().getFirst(ResilientClientHttpRequestInterceptor.IDEMPOTENCY_KEY) != null);
			Exchange exchange = new Exchange(guard, admission, sent, next, idempotent, this.instances.get(), observed,
					copies);
			// A cancel after the response was handed over is the body's to settle (its reader stopped reading),
			// not a call given up before any answer: Reactor passes a cancel upstream even once a Mono completed.
			call = exchange.attempt(1).doOnCancel(() -> {
				if (!exchange.handedOver()) {
					admission.cancelled();
				}
			});
			if (copies != null) {
				call = copies.servedInstead(call, false);
			}
			if (context.hasKey(WireRecordingConnector.PROBE)) {
				// A call a filter makes while a probe of another call runs (fetching a token) is a call of its own:
				// really sent. It may not probe in turn.
				call = call.contextWrite((own) -> own.delete(WireRecordingConnector.PROBE).put(INSIDE_A_PROBE, Boolean.TRUE));
			}
			return (observed != null) ? observedUntilHandedOver(call, observed) : call;
		});
	}

	/**
	 * What a response that went on the wire tells of this client's connector: whether it records requests
	 * as sent. Once one did not, the answer stays no, and the first such call to a service with
	 * {@code stale-if-error} says so in one WARN line.
	 */
	private void learnWhetherTheConnectorRecords(String service, boolean recorded) {
		Boolean known = this.connectorRecords;
		if (Boolean.FALSE.equals(known) || (known != null && known == recorded)) {
			return;
		}
		this.connectorRecords = recorded;
		if (!recorded) {
			logger.warn("tis-resilience event=stale_if_error_not_kept service=" + service + " client=WebClient "
					+ "reason=\"a WebClient calling " + service + " sends through a connector of its own, not one Boot "
					+ "built: its calls get the breaker, bulkhead, retries and deadline, but no stale-if-error copies "
					+ "and not the service's connect-timeout; build it from Boot's WebClient.Builder without setting a "
					+ "connector\"");
		}
	}

	/**
	 * What an answer tells of this client's connector, for a call that keeps no copy (a copy's record tells it
	 * already): whether it keeps each service's connect-timeout. The first answer through any other connector
	 * says so in one WARN line.
	 */
	private void learnWhetherTheConnectorKeepsConnectTimeouts(String service, WireRecordingConnector.Attempt wire) {
		if (wire.seen() || this.ownConnectorNamed || wire.records()) {
			return;
		}
		this.ownConnectorNamed = true;
		logger.warn("tis-resilience event=connect_timeout_not_kept service=" + service + " client=WebClient "
				+ "reason=\"a WebClient calling " + service + " sends through a connector of its own, not one Boot "
				+ "built (or a filter after the starter's lost the Reactor context): its calls get the breaker, bulkhead, "
				+ "retries and deadline, but not the service's connect-timeout; build it from Boot's WebClient.Builder "
				+ "without setting a connector\"");
	}

	/**
	 * The {@code tis.resilience.call} Observation of one exchange, as the blocking clients make it: a child
	 * of the WebClient's own {@code http.client.requests} Observation, which WebClient puts in the
	 * subscriber's context. None when no {@code ObservationRegistry} is in use.
	 */
	private @Nullable ObservedCall observe(String service, ContextView context) {
		ObservationRegistry registry = this.observations.getOr(() -> ObservationRegistry.NOOP);
		if (registry.isNoop()) {
			return null;
		}
		Observation observation = Observation.createNotStarted(ResilientClientHttpRequestInterceptor.OBSERVATION, registry)
			.contextualName("tis-resilience " + service)
			.lowCardinalityKeyValue("service", service);
		if (context.getOrDefault(ObservationThreadLocalAccessor.KEY, null) instanceof Observation parent) {
			observation.parentObservation(parent);
		}
		return new ObservedCall(observation.start(), registry, service);
	}

	// Once handed over, the call (and its observation) ends when the body does, as for the blocking clients.
	private static Mono<ClientResponse> observedUntilHandedOver(Mono<ClientResponse> call, ObservedCall observed) {
		return call.doOnEach((signal) -> {
			if (signal.isOnNext()) {
				observed.handedOver();
			}
			else if (signal.isOnError()) {
				Throwable error = java.util.Objects.requireNonNull(signal.getThrowable());
				observed.end(ObservedCall.outcomeOf(error), error);
			}
			else if (signal.isOnComplete()) {
				observed.endedEmpty();
			}
		}).doOnCancel(observed::cancelled);
	}

	// Outside the guard, as for the blocking clients: a token that cannot be had says nothing of the service.
	private @Nullable String serviceTokenFor(String service, ClientRequest request) {
		ServiceTokenProvider provider = this.serviceTokens.get();
		if (provider == null || request.headers().getFirst(HttpHeaders.AUTHORIZATION) != null) {
			return null;
		}
		return provider.tokenFor(service);
	}

	/**
	 * One GET's stale-if-error copies: what its request carried on the wire (recorded by the starter's
	 * connector), the copy kept from its good answer, and the copy served, marked stale, when the call
	 * fails. Keyed as the blocking clients key them (decision 0015): one caller's copy is never another's.
	 */
	private final class StaleCopies {

		private final ServiceGuard guard;

		private final ClientRequest request;

		private final ExchangeFunction next;

		private final WireRecordingConnector.Record wire;

		private final @Nullable String serviceToken;

		private final @Nullable ObservedCall observed;

		private final long start;

		StaleCopies(ServiceGuard guard, ClientRequest request, ExchangeFunction next, WireRecordingConnector.Record wire,
				@Nullable String serviceToken, @Nullable ObservedCall observed, long start) {
			this.guard = guard;
			this.request = request;
			this.next = next;
			this.wire = wire;
			this.serviceToken = serviceToken;
			this.observed = observed;
			this.start = start;
		}

		/**
		 * The call, with the kept copy in place of a failure: an error that is the service failing, or a
		 * failure response (5xx, 408, 429) whose body is then released unread.
		 * @param rejected whether the call was rejected at admission (the breaker open, the bulkhead full),
		 * before any attempt: only then may a probe learn what the request would carry. It runs at once, on the
		 * caller's own thread, as the call would have; after an attempt a probe would run on an I/O thread,
		 * where a filter reading anything thread-bound would give it someone else's credentials.
		 */
		Mono<ClientResponse> servedInstead(Mono<ClientResponse> call, boolean rejected) {
			return call.flatMap((response) -> {
				if (HttpFailureClassifier.reasonForStatus(response.statusCode().value()) == null) {
					return Mono.just(response);
				}
				return kept(false).flatMap((stale) -> response.releaseBody().onErrorResume((ex) -> Mono.empty()).thenReturn(stale))
					.defaultIfEmpty(response);
			}).onErrorResume((ex) -> ex instanceof ServiceUnavailableException
					|| HttpFailureClassifier.reasonForException(ex) != null,
					(ex) -> kept(rejected).switchIfEmpty(Mono.error(ex)));
		}

		/** Keeps the copy, when it may be kept, of the good answer a caller is about to read; or null. */
		@Nullable BodyKeeper keeperFor(ClientResponse response) {
			ResilientExchangeFilterFunction.this.strategies = response.strategies();
			URI uri = this.wire.uri();
			HttpHeaders sent = this.wire.headers();
			learnWhetherTheConnectorRecords(this.guard.name(), uri != null);
			if (uri == null || sent == null) {
				return null;
			}
			StaleResponseCache.Key key = ResilientExchangeFilterFunction.this.staleResponses.keyFor(this.guard, uri, sent,
					this.serviceToken);
			if (response.statusCode().is4xxClientError()) {
				ResilientExchangeFilterFunction.this.staleResponses.forget(key);
				return null;
			}
			HttpHeaders headers = response.headers().asHttpHeaders();
			return ResilientExchangeFilterFunction.this.staleResponses.mayKeep(key, response.statusCode(), headers)
					? new BodyKeeper(key, response.statusCode(), headers) : null;
		}

		/**
		 * The kept copy for what the request carried on the wire. When it was rejected before any attempt (the
		 * breaker open, the bulkhead full), a probe runs the filters after this one on the request as it is,
		 * marked in its Reactor context so that the starter's connector answers it without I/O, and marked as
		 * an attribute too, so that if a filter lost the context on the way the connector still ends it before
		 * a byte of it is written. The probe ends by the call's deadline and never runs inside another probe.
		 * Until a probe has once been answered that way, one runs at a time; a probe that another connector
		 * answered (a client mutated onto a connector of its own shares this filter) turns probing off.
		 */
		private Mono<ClientResponse> kept(boolean rejected) {
			return Mono.deferContextual((context) -> {
				ResilientExchangeFilterFunction filter = ResilientExchangeFilterFunction.this;
				boolean probe = rejected && this.wire.uri() == null && !context.hasKey(WireRecordingConnector.PROBE)
						&& !context.hasKey(INSIDE_A_PROBE) && Boolean.TRUE.equals(filter.connectorRecords);
				boolean gated = probe && !filter.probeConfirmed.get();
				if (gated && !filter.probeInFlight.compareAndSet(false, true)) {
					probe = false;
					gated = false;
				}
				Mono<Void> learnt = Mono.empty();
				if (probe) {
					boolean releaseGate = gated;
					learnt = this.next
						.exchange(ClientRequest.from(this.request).attribute(WireRecordingConnector.PROBE_ATTRIBUTE, Boolean.TRUE).build())
						.contextWrite((probeContext) -> probeContext.put(WireRecordingConnector.PROBE, Boolean.TRUE))
						.timeout(this.guard.policy().responseTimeout())
						.flatMap((answer) -> {
							// An answer is fine when the probe was recorded and ended (a filter turned its end into a
							// response); otherwise another connector sent it.
							if (!this.wire.probed()) {
								probeReachedAnotherConnector();
							}
							return answer.releaseBody();
						})
						.onErrorResume((ex) -> {
							// A connector's failure that is not the probe's end: another connector tried to send it. A
							// filter's own failure or the deadline says nothing of the connector.
							if (!this.wire.probed() && ex instanceof WebClientRequestException
									&& !WireRecordingConnector.isProbeComplete(ex)) {
								probeReachedAnotherConnector();
							}
							return Mono.empty();
						})
						// Before the caller hears of it, so that the next call finds the gate open and the probe known.
						.doOnTerminate(() -> probeEnded(releaseGate))
						.doOnCancel(() -> probeEnded(releaseGate));
				}
				return learnt.then(Mono.fromSupplier(this::staleResponse));
			});
		}

		private void probeEnded(boolean releaseGate) {
			ResilientExchangeFilterFunction filter = ResilientExchangeFilterFunction.this;
			if (this.wire.probed()) {
				filter.probeConfirmed.set(true);
			}
			if (releaseGate) {
				filter.probeInFlight.set(false);
			}
		}

		private void probeReachedAnotherConnector() {
			this.wire.clear();
			learnWhetherTheConnectorRecords(this.guard.name(), false);
		}

		private @Nullable ClientResponse staleResponse() {
			URI uri = this.wire.uri();
			HttpHeaders sent = this.wire.headers();
			if (uri == null || sent == null) {
				return null;
			}
			StaleResponseCache.Kept kept = ResilientExchangeFilterFunction.this.staleResponses
				.kept(ResilientExchangeFilterFunction.this.staleResponses.keyFor(this.guard, uri, sent, this.serviceToken));
			if (kept == null) {
				return null;
			}
			this.guard.listener().onCall(this.guard.name(), CallOutcome.STALE, System.nanoTime() - this.start);
			if (this.observed != null) {
				this.observed.end(CallOutcome.STALE, null);
			}
			return ClientResponse.create(kept.status(), ResilientExchangeFilterFunction.this.strategies)
				.headers((headers) -> headers.addAll(kept.headers()))
				.body(Flux.just(DefaultDataBufferFactory.sharedInstance.wrap(kept.body())))
				.build();
		}

	}

	/** Copies a good answer's body as the caller reads it, and keeps it once the whole of it has been read. */
	private final class BodyKeeper {

		private final StaleResponseCache.Key key;

		private final HttpStatusCode status;

		private final HttpHeaders headers;

		private @Nullable ByteArrayOutputStream copy = new ByteArrayOutputStream();

		BodyKeeper(StaleResponseCache.Key key, HttpStatusCode status, HttpHeaders headers) {
			this.key = key;
			this.status = status;
			this.headers = headers;
		}

		synchronized void read(DataBuffer part) {
			ByteArrayOutputStream copy = this.copy;
			if (copy == null) {
				return;
			}
			int length = part.readableByteCount();
			if (copy.size() + (long) length > ResilientExchangeFilterFunction.this.staleResponses.maxBodySize()) {
				// Too large to keep: the caller still reads it all, nothing is kept.
				this.copy = null;
				return;
			}
			byte[] bytes = new byte[length];
			part.toByteBuffer(part.readPosition(), ByteBuffer.wrap(bytes), 0, length);
			copy.write(bytes, 0, length);
		}

		synchronized void ended() {
			if (this.copy != null) {
				ResilientExchangeFilterFunction.this.staleResponses.keep(this.key, this.status, this.headers,
						this.copy.toByteArray());
				this.copy = null;
			}
		}

	}

	private final class Exchange {

		private final ServiceGuard guard;

		private final ServiceGuard.Admission admission;

		private final ClientRequest request;

		private final ExchangeFunction next;

		private final boolean idempotent;

		/** The load-balanced instances, when Spring Cloud LoadBalancer is in the application. */
		private final @Nullable LoadBalancedInstances instances;

		/** The instances this request failed on, which its next attempts avoid. */
		private final Set<String> failedOn = ConcurrentHashMap.newKeySet(2);

		private final java.util.concurrent.atomic.AtomicInteger failovers = new java.util.concurrent.atomic.AtomicInteger();

		private final @Nullable ObservedCall observed;

		/** Attempts sent so far, failovers included: each is numbered in its observation. */
		private final java.util.concurrent.atomic.AtomicInteger sent = new java.util.concurrent.atomic.AtomicInteger();

		/** This GET's stale-if-error copies, when its service keeps them. */
		private final @Nullable StaleCopies copies;

		/** Whether a response was handed to the caller: from then on its body ends the call. */
		private volatile boolean handedOver;

		/** What each attempt tells the recording connector: the connect-timeout, and whether it records. */
		private final WireRecordingConnector.Attempt wire;

		Exchange(ServiceGuard guard, ServiceGuard.Admission admission, ClientRequest request, ExchangeFunction next,
				boolean idempotent, @Nullable LoadBalancedInstances instances, @Nullable ObservedCall observed,
				@Nullable StaleCopies copies) {
			this.observed = observed;
			this.copies = copies;
			this.wire = new WireRecordingConnector.Attempt(guard.policy().connectTimeout(), copies != null);
			this.guard = guard;
			this.admission = admission;
			this.request = request;
			this.next = next;
			this.idempotent = idempotent;
			this.instances = instances;
		}

		boolean handedOver() {
			return this.handedOver;
		}

		Mono<ClientResponse> attempt(int attempt) {
			try {
				this.admission.startAttempt();
			}
			catch (ServiceUnavailableException ex) {
				return Mono.error(ex);
			}
			DeadlineWatch.Deadline deadline = DeadlineWatch.shared()
				.watch(System.nanoTime() + this.guard.policy().responseTimeout().toNanos());
			InstanceAttempt instance = (this.instances != null) ? new InstanceAttempt() : null;
			Observation observation = (this.observed != null) ? this.observed.attemptStarted(this.sent.incrementAndGet())
					: null;
			// An attempt's observation is stopped once: by its answer or failure, or by a cancel that came first.
			AtomicBoolean attemptEnded = new AtomicBoolean();
			// The connector Boot built reads the service's connect-timeout here (it is shared by every service), and
			// what runs below sees this attempt as the current observation, as a blocking attempt's scope does.
			Mono<ClientResponse> exchange = this.next.exchange(forInstances(instance)).contextWrite((context) -> {
				Context attemptContext = context.put(WireRecordingConnector.Attempt.KEY, this.wire);
				return (observation != null) ? attemptContext.put(ObservationThreadLocalAccessor.KEY, observation)
						: attemptContext;
			});
			// This attempt's answer or failure is decided here once: materialized, so that what a later attempt
			// signals (its own answer, or its failure) passes straight through and is never decided again as if
			// it were this attempt's.
			return exchange.timeout(deadline.passed())
				.doFinally((signal) -> {
					// Answered, the deadline goes on to cover the body; otherwise this attempt is over.
					if (signal != SignalType.ON_COMPLETE) {
						deadline.done();
					}
					if (signal == SignalType.CANCEL && observation != null && attemptEnded.compareAndSet(false, true)) {
						ObservedCall.attemptCancelled(observation);
					}
					release(instance);
				})
				.materialize()
				.flatMap((signal) -> {
					if (signal.isOnError()) {
						Throwable error = java.util.Objects.requireNonNull(signal.getThrowable());
						if (observation != null && attemptEnded.compareAndSet(false, true)) {
							ObservedCall.attemptEnded(observation, ObservedCall.outcomeOf(error), null, error);
						}
						return failedWithoutAnswer(attempt, error, instance);
					}
					ClientResponse response = signal.get();
					if (response == null) {
						deadline.done();
						if (observation != null && attemptEnded.compareAndSet(false, true)) {
							ObservedCall.attemptEnded(observation, CallOutcome.SUCCESS, null, null);
						}
						return Mono.empty();
					}
					if (observation != null && attemptEnded.compareAndSet(false, true)) {
						Reason reason = HttpFailureClassifier.reasonForStatus(response.statusCode().value());
						ObservedCall.attemptEnded(observation, (reason != null) ? CallOutcome.of(reason) : CallOutcome.SUCCESS,
								response.statusCode().value(), null);
					}
					return answered(attempt, response, deadline, instance);
				});
		}

		/**
		 * With a load balancer in the application: the request carries what the attempt tells it, so that it
		 * goes to none of the instances the request failed on, and the instance it chose is known afterwards.
		 */
		private ClientRequest forInstances(@Nullable InstanceAttempt instance) {
			if (instance == null) {
				return this.request;
			}
			String avoid = InstanceAttempt.avoidHeader(this.failedOn);
			ClientRequest.Builder builder = ClientRequest.from(this.request).attribute(InstanceAttempt.ATTRIBUTE, instance);
			if (avoid != null) {
				builder.header(InstanceAttempt.AVOID_HEADER, avoid);
			}
			return builder.build();
		}

		private void release(@Nullable InstanceAttempt instance) {
			if (instance != null && this.instances != null) {
				this.instances.release(instance);
			}
		}

		private void instanceEnded(@Nullable InstanceAttempt instance, @Nullable Reason failure) {
			if (instance != null && this.instances != null && this.instances.ended(instance, failure)) {
				this.failedOn.add(java.util.Objects.requireNonNull(instance.instance()));
			}
		}

		private Mono<ClientResponse> failedWithoutAnswer(int attempt, Throwable failure, @Nullable InstanceAttempt instance) {
			Throwable ex = unsureWhetherSent(failure);
			if (HttpFailureClassifier.connectionPoolFull(ex)) {
				// The application's own connection pool turned it away: nothing was sent, and not the service's doing.
				return Mono.error(this.admission.rejectedLocally(ex));
			}
			Reason reason = HttpFailureClassifier.reasonForException(ex);
			instanceEnded(instance, reason);
			boolean neverSent = HttpFailureClassifier.neverConnected(ex);
			if (reason == Reason.CONNECT_FAILURE && neverSent && instance != null
					&& this.instances != null && this.instances.canFailOver(instance, this.failedOn, this.failovers.get())
					&& this.admission.failOver()) {
				this.failovers.incrementAndGet();
				// It reached no instance: another takes it at once, whatever max-attempts says.
				return Mono.defer(() -> attempt(attempt));
			}
			if (reason == null) {
				// Not the service failing (a bad request built by the caller): the service did its part.
				this.admission.completion().finish(ex);
				return Mono.error(ex);
			}
			Duration delay = this.admission.retryDelay(attempt, this.idempotent || neverSent, reason, false, null);
			if (delay != null) {
				return Mono.delay(delay).then(Mono.defer(() -> attempt(attempt + 1)));
			}
			boolean onOutlier = instance != null && this.instances != null && this.instances.failedOnAnOutlier(instance);
			return Mono.error(this.admission.failed(reason, ex, onOutlier));
		}

		/**
		 * A connect failure of a request that may not be sent again, where it cannot be told from a redirect's
		 * target refusing (a connector that is handed the request before it connects and follows redirects, or
		 * one the starter did not wrap): said in the exception, so that no guard, this one or one around it,
		 * sends it again.
		 */
		private Throwable unsureWhetherSent(Throwable failure) {
			if (this.idempotent || this.wire.tellsTheFirstServersFailure() || !HttpFailureClassifier.neverConnected(failure)) {
				return failure;
			}
			return new RequestSentException("a connection to " + this.guard.name() + " failed, through a connector "
					+ "that may have followed a redirect after a server had the request", failure);
		}

		private Mono<ClientResponse> answered(int attempt, ClientResponse response, DeadlineWatch.Deadline deadline,
				@Nullable InstanceAttempt instance) {
			learnWhetherTheConnectorKeepsConnectTimeouts(this.guard.name(), this.wire);
			int status = response.statusCode().value();
			Reason reason = HttpFailureClassifier.reasonForStatus(status);
			instanceEnded(instance, reason);
			Duration retryAfter = (reason != null) ? HttpFailureClassifier
				.parseRetryAfter(response.headers().asHttpHeaders().getFirst(HttpHeaders.RETRY_AFTER),
						ResilientExchangeFilterFunction.this.clock) : null;
			if (reason != null) {
				Duration delay = this.admission.retryDelay(attempt, this.idempotent, reason, true, retryAfter);
				if (delay != null) {
					// The failure's body is released under the same deadline: a body that stalls is cut, not waited on.
					return response.releaseBody()
						.timeout(deadline.passed())
						.onErrorResume((ex) -> Mono.empty())
						.doFinally((signal) -> deadline.done())
						.then(Mono.delay(delay))
						.then(Mono.defer(() -> attempt(attempt + 1)));
				}
			}
			Failure failure = (reason != null) ? new Failure(reason, retryAfter) : null;
			CallCompletion completion = (this.observed != null) ? this.observed.observing(this.admission.completion())
					: this.admission.completion();
			// A body nobody reads still ends at the deadline: the call is finished as timed out and the
			// connection released, so an unread body cannot hold a bulkhead slot for ever.
			deadline.whenPassed(() -> {
				completion.finish(new Failure(Reason.TIMEOUT, null));
				response.releaseBody().subscribe((ignored) -> { }, (ex) -> { });
			});
			BodyKeeper keeper = (failure == null && this.copies != null) ? this.copies.keeperFor(response) : null;
			ClientResponse.Builder handedOver = response.mutate()
				.body((body) -> guardedBody(body, deadline, completion, failure, keeper));
			if (failure != null) {
				handedOver.headers((headers) -> headers.set(ServiceUnavailableException.SERVICE_HEADER,
						FailureResponseMark.of(this.guard.name())));
			}
			this.handedOver = true;
			return Mono.just(handedOver.build());
		}

		/**
		 * The body under the call's deadline: each wait for the next part ends at the deadline, so the whole
		 * body must arrive by it. Its end, failure or release finishes the call for the guard.
		 */
		private Flux<DataBuffer> guardedBody(Flux<DataBuffer> body, DeadlineWatch.Deadline deadline,
				CallCompletion completion, @Nullable Failure failure, @Nullable BodyKeeper keeper) {
			long[] received = new long[1];
			AtomicBoolean subscribed = new AtomicBoolean();
			// A body can be read once. WebClient reads it again to describe a failed read (and releases it
			// after one); the network's body rejects a second reader with an error that Reactor logs at ERROR
			// as dropped, so a second reader gets an empty body instead.
			return Flux.defer(() -> subscribed.compareAndSet(false, true)
					? guardedOnce(body, deadline, completion, failure, received, keeper) : Flux.<DataBuffer>empty());
		}

		private Flux<DataBuffer> guardedOnce(Flux<DataBuffer> body, DeadlineWatch.Deadline deadline,
				CallCompletion completion, @Nullable Failure failure, long[] received, @Nullable BodyKeeper keeper) {
			return body.timeout(deadline.passed(), (part) -> deadline.passed())
				.doFinally((signal) -> {
					deadline.done();
					if (signal == SignalType.CANCEL) {
						completion.finish(failure);
					}
				})
				.doOnNext((part) -> {
					received[0] += part.readableByteCount();
					if (keeper != null) {
						keeper.read(part);
					}
				})
				.onErrorMap((ex) -> {
					if (ex instanceof TimeoutException) {
						completion.finish(new Failure(Reason.TIMEOUT, null));
						return new ServiceUnavailableException(this.guard.name(), Reason.TIMEOUT, null, ex);
					}
					Reason reason = HttpFailureClassifier.reasonForException(ex);
					if (reason == null) {
						completion.finish(ex);
						return ex;
					}
					completion.finish(new Failure(reason, null));
					Throwable cause = (reason == Reason.SERVER_ERROR && ex instanceof java.io.IOException io)
							? new BrokenOffResponseException(received[0], -1, io) : ex;
					return new ServiceUnavailableException(this.guard.name(), reason, null, cause);
				})
				.doOnComplete(() -> {
					if (keeper != null) {
						keeper.ended();
					}
					completion.finish(failure);
				});
		}

	}

}
