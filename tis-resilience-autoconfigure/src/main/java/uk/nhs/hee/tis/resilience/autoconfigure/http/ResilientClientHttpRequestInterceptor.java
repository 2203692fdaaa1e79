package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;

import org.jspecify.annotations.Nullable;

import io.micrometer.observation.Observation;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import io.micrometer.observation.ObservationRegistry;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpRequest;
import org.springframework.http.client.ClientHttpRequestExecution;
import org.springframework.http.client.ClientHttpRequestInterceptor;
import org.springframework.http.client.ClientHttpResponse;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.InstanceAttempt;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.LoadBalancedInstances;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.OnceLookup;
import uk.nhs.hee.tis.resilience.autoconfigure.token.ServiceTokenProvider;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.http.HttpFailureClassifier;
import uk.nhs.hee.tis.resilience.http.RequestSentException;
import uk.nhs.hee.tis.resilience.policy.CallCompletion;
import uk.nhs.hee.tis.resilience.policy.CallOutcome;
import uk.nhs.hee.tis.resilience.policy.GuardedCall;
import uk.nhs.hee.tis.resilience.policy.ServiceGuard;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Runs every request of a {@code RestClient} or {@code RestTemplate} under the guard of the service
 * it belongs to. Installed first in the chain, so that a retry runs the other interceptors again
 * (a fresh bearer token, for example). The response body is watched: the call is finished for the
 * breaker and the bulkhead when the body is read to its end or closed, and a body cut short by the
 * deadline surfaces as {@link Reason#TIMEOUT}, never as a truncated body. For GETs of a service
 * with {@code stale-if-error}, the last good response is kept and served, marked stale, when the
 * service fails.
 */
final class ResilientClientHttpRequestInterceptor implements ClientHttpRequestInterceptor {

	private static final Log logger = LogFactory.getLog(ResilientClientHttpRequestInterceptor.class);

	static final String IDEMPOTENCY_KEY = "Idempotency-Key";

	/** The Observation around each protected call, so that it appears in traces. */
	static final String OBSERVATION = "tis.resilience.call";

	private final ServiceGuardRegistry registry;

	private final ServiceResolver resolver;

	private final StaleResponseCache staleResponses;

	private final Clock clock;

	private final OnceLookup<ServiceTokenProvider> serviceTokens;

	private final OnceLookup<ObservationRegistry> observations;

	/**
	 * Whether this client's request factory records the headers as sent (the starter's does): null
	 * until an attempt tells. A probe runs only once it is known to, since a probe through any other
	 * factory would really send the request.
	 */
	private volatile @Nullable Boolean factoryRecords;

	private final OnceLookup<LoadBalancedInstances> instances;

	ResilientClientHttpRequestInterceptor(ServiceGuardRegistry registry, ServiceResolver resolver,
			StaleResponseCache staleResponses, ObjectProvider<ServiceTokenProvider> serviceTokens,
			ObjectProvider<ObservationRegistry> observations, ObjectProvider<LoadBalancedInstances> instances) {
		this(registry, resolver, staleResponses, new OnceLookup<>(serviceTokens), new OnceLookup<>(observations),
				new OnceLookup<>(instances));
	}

	private ResilientClientHttpRequestInterceptor(ServiceGuardRegistry registry, ServiceResolver resolver,
			StaleResponseCache staleResponses, OnceLookup<ServiceTokenProvider> serviceTokens,
			OnceLookup<ObservationRegistry> observations, OnceLookup<LoadBalancedInstances> instances) {
		this.registry = registry;
		this.resolver = resolver;
		this.staleResponses = staleResponses;
		this.serviceTokens = serviceTokens;
		this.observations = observations;
		this.instances = instances;
		this.clock = Clock.systemUTC();
	}

	/** An interceptor for one more client: same guards and cache, its own knowledge of its factory. */
	ResilientClientHttpRequestInterceptor forClient() {
		return new ResilientClientHttpRequestInterceptor(this.registry, this.resolver, this.staleResponses,
				this.serviceTokens, this.observations, this.instances);
	}

	@Override
	public ClientHttpResponse intercept(HttpRequest request, byte[] body, ClientHttpRequestExecution execution)
			throws IOException {
		ServiceGuard guard = this.registry.guard(this.resolver.resolve(request.getURI()));
		ObservationRegistry observations = this.observations.getOr(() -> ObservationRegistry.NOOP);
		if (observations.isNoop()) {
			return protect(guard, request, body, execution, null);
		}
		Observation observation = Observation.createNotStarted(OBSERVATION, observations)
			.contextualName("tis-resilience " + guard.name())
			.lowCardinalityKeyValue("service", guard.name())
			.start();
		ObservedCall observed = new ObservedCall(observation, observations, guard.name());
		try (Observation.Scope scope = observation.openScope()) {
			ClientHttpResponse response = protect(guard, request, body, execution, observed);
			if (response instanceof GuardedClientHttpResponse
					|| (response instanceof StaleResponseCache.BufferedResponse buffered && buffered.streamsOn())) {
				// The body is still being read: the call, and its observation, end when it does.
				observed.handedOver();
			}
			else {
				observed.end(outcomeOf(response), null);
			}
			return response;
		}
		catch (IOException | RuntimeException ex) {
			observed.end(outcomeOf(ex), ex);
			throw ex;
		}
	}

	private static CallOutcome outcomeOf(ClientHttpResponse response) {
		return (response instanceof StaleResponseCache.BufferedResponse buffered && buffered.stale())
				? CallOutcome.STALE : CallOutcome.SUCCESS;
	}

	private static CallOutcome outcomeOf(Exception failure) {
		return ObservedCall.outcomeOf(failure);
	}

	private ClientHttpResponse protect(ServiceGuard guard, HttpRequest request, byte[] body,
			ClientHttpRequestExecution execution, @Nullable ObservedCall observed) throws IOException {
		String serviceToken = addServiceToken(guard.name(), request);
		boolean idempotent = HttpFailureClassifier.isIdempotent(request.getMethod().name(),
				request.getHeaders().getFirst(IDEMPOTENCY_KEY) != null);
		boolean keepsCopies = this.staleResponses.applies(guard, request);
		// Every call says whether it went through the starter's request factory: a client made with
		// mutate().requestFactory(...) shares this interceptor with the one it came from.
		WireRequest wire = new WireRequest(keepsCopies, guard.name(), idempotent);
		request.getAttributes().put(WireRequest.ATTRIBUTE, wire);
		Exchange exchange = new Exchange(guard, request, body, execution, idempotent, wire, observed,
				this.instances.get());
		if (!keepsCopies) {
			ClientHttpResponse response = execute(guard, exchange);
			learnWhetherTheFactoryRecords(guard.name(), wire.reached());
			return response;
		}
		long start = System.nanoTime();
		try {
			ClientHttpResponse response = execute(guard, exchange);
			learnWhetherTheFactoryRecords(guard.name(), wire.reached());
			if (exchange.failureOf(response) != null) {
				ClientHttpResponse stale = staleResponse(guard, request, body, execution, wire, serviceToken, start);
				if (stale != null) {
					response.close();
					return stale;
				}
				return response;
			}
			HttpHeaders sent = wire.headers();
			if (sent == null) {
				return response;
			}
			return this.staleResponses.store(this.staleResponses.keyFor(guard, wire.uri(), sent, serviceToken),
					response);
		}
		catch (ServiceUnavailableException | IOException ex) {
			if (wire.reached()) {
				learnWhetherTheFactoryRecords(guard.name(), true);
			}
			// Also a body broken off while it was being kept: a kept copy beats a half-read answer.
			ClientHttpResponse stale = staleResponse(guard, request, body, execution, wire, serviceToken, start);
			if (stale != null) {
				return stale;
			}
			throw ex;
		}
	}

	// A response came back, so the request reached a request factory: was it the starter's? Once one did
	// not record, the answer stays no: this interceptor may be shared by clients with other factories
	// (RestClient.mutate(), two clients from one builder).
	private void learnWhetherTheFactoryRecords(String service, boolean recorded) {
		Boolean known = this.factoryRecords;
		if (Boolean.FALSE.equals(known)) {
			return;
		}
		this.factoryRecords = recorded;
		if (!recorded) {
			logger.warn("tis-resilience event=request_factory_not_wrapped service=" + service + " reason=\"a client "
					+ "calling " + service + " sends through a request factory of its own, not the starter's (or one of "
					+ "its interceptors answers by itself): its calls "
					+ "get the breaker, bulkhead and retries, but no per-service deadline, no stale-if-error copies, and a "
					+ "POST or PATCH that fails to connect is not sent again (its client may have followed a redirect); "
					+ "build it from Boot's RestClient.Builder or RestTemplateBuilder without setting a request factory\"");
		}
	}

	/**
	 * The kept response for the credentials this request carries on the wire. When no attempt went on
	 * the wire (the breaker was open, the bulkhead full), a probe runs the client's interceptors, sending
	 * nothing, to learn them; where they still cannot be seen, nothing is served.
	 */
	private @Nullable ClientHttpResponse staleResponse(ServiceGuard guard, HttpRequest request, byte[] body,
			ClientHttpRequestExecution execution, WireRequest wire, @Nullable String serviceToken, long start) {
		if (!wire.reached() && Boolean.TRUE.equals(this.factoryRecords)) {
			wire.startProbe();
			try (ClientHttpResponse unexpected = execution.execute(probe(request), body)) {
				// A later interceptor answered without reaching the request factory: nothing was learnt.
			}
			catch (IOException | RuntimeException ex) {
				// WireRequest.ProbeComplete, or a later interceptor that failed: either way, nothing was sent.
			}
		}
		HttpHeaders sent = wire.headers();
		URI sentUri = wire.uri();
		if (sent == null || sentUri == null) {
			return null;
		}
		ClientHttpResponse stale = this.staleResponses
			.staleResponse(this.staleResponses.keyFor(guard, sentUri, sent, serviceToken));
		if (stale != null) {
			guard.listener().onCall(guard.name(), CallOutcome.STALE, System.nanoTime() - start);
		}
		return stale;
	}

	/** The request as a probe: the same, on a URI no request factory but the starter's will take. */
	private static HttpRequest probe(HttpRequest request) {
		URI uri = request.getURI();
		// Only the scheme changes: the path and query stay byte for byte as the client encoded them.
		URI probeUri = URI.create(WireRequest.PROBE_SCHEME + uri.toString().substring(uri.getScheme().length()));
		return new org.springframework.http.client.support.HttpRequestWrapper(request) {

			@Override
			public URI getURI() {
				return probeUri;
			}

		};
	}

	// Outside the guard: a token that cannot be had says nothing about the service called.
	private @Nullable String addServiceToken(String service, HttpRequest request) {
		ServiceTokenProvider provider = this.serviceTokens.get();
		if (provider == null || request.getHeaders().getFirst(HttpHeaders.AUTHORIZATION) != null) {
			return null;
		}
		String token = provider.tokenFor(service);
		if (token != null) {
			request.getHeaders().setBearerAuth(token);
		}
		return token;
	}

	private static ClientHttpResponse execute(ServiceGuard guard, Exchange exchange) throws IOException {
		try {
			return guard.execute(exchange);
		}
		catch (IOException | RuntimeException ex) {
			throw ex;
		}
		catch (Exception ex) {
			throw new IOException(ex);
		}
	}

	private final class Exchange implements GuardedCall<ClientHttpResponse> {

		private final String service;

		private final int maxAttempts;

		private int attempts;

		private final HttpRequest request;

		private final byte[] body;

		private final ClientHttpRequestExecution execution;

		private final boolean idempotent;

		/** What the call's attempts tell the starter's request factory, and learn from it. */
		private final WireRequest wire;

		private long deadlineNanos;

		private final @Nullable ObservedCall observed;

		/** The load-balanced instances, when Spring Cloud LoadBalancer is in the application. */
		private final @Nullable LoadBalancedInstances instances;

		/** The instances this request failed on, which its next attempts avoid. */
		private final Set<String> failedOn = new LinkedHashSet<>(2);

		private @Nullable InstanceAttempt lastInstance;

		private int failovers;

		Exchange(ServiceGuard guard, HttpRequest request, byte[] body, ClientHttpRequestExecution execution,
				boolean idempotent, WireRequest wire, @Nullable ObservedCall observed,
				@Nullable LoadBalancedInstances instances) {
			this.observed = observed;
			this.instances = instances;
			this.service = guard.name();
			this.maxAttempts = guard.policy().retry().maxAttempts();
			this.request = request;
			this.body = body;
			this.execution = execution;
			this.idempotent = idempotent;
			this.wire = wire;
		}

		@Override
		public boolean idempotent() {
			return this.idempotent;
		}

		/**
		 * A connect failure of a request that may not be sent again, where it cannot be told from a redirect's
		 * (the starter's request factory follows such a request's redirect itself, {@link FirstRedirect}; a
		 * factory of the application's own may have followed one inside the call, after the first server had
		 * the request): said in the exception, so that no guard, this one or one around it, sends it again.
		 */
		private @Nullable RequestSentException unsureWhetherSent(Exception failure) {
			if (this.idempotent || !HttpFailureClassifier.neverConnected(failure) || this.wire.reached()) {
				return null;
			}
			return new RequestSentException("a connection to " + this.service + " failed, through a request factory "
					+ "of the application's own, which may have followed a redirect after a server had the request",
					failure);
		}

		@Override
		public ClientHttpResponse attempt(Duration timeout) throws IOException {
			this.deadlineNanos = System.nanoTime() + timeout.toNanos();
			this.wire.attemptEndsAt(this.deadlineNanos);
			this.attempts++;
			Observation attempt = (this.observed != null) ? this.observed.attemptStarted(this.attempts) : null;
			InstanceAttempt instance = nextInstanceAttempt();
			try {
				ClientHttpResponse response = this.execution.execute(this.request, this.body);
				Failure failure = failureOf(response);
				instanceEnded(instance, (failure != null) ? failure.reason() : null);
				// While another attempt may follow, a body that breaks off is retried rather than handed over:
				// read its start now, before the caller sees any of it.
				if (this.idempotent && this.attempts < this.maxAttempts && failure == null
						&& this.request.getMethod() != HttpMethod.HEAD) {
					response = ReadAheadResponse.readAhead(response, this.deadlineNanos);
				}
				if (attempt != null) {
					ObservedCall.attemptEnded(attempt, (failure != null) ? CallOutcome.of(failure.reason())
							: CallOutcome.SUCCESS, response.getStatusCode().value(), null);
				}
				return response;
			}
			catch (IOException | RuntimeException ex) {
				RequestSentException unsure = unsureWhetherSent(ex);
				Exception failure = (unsure != null) ? unsure : ex;
				instanceEnded(instance, HttpFailureClassifier.reasonForException(failure));
				if (attempt != null) {
					ObservedCall.attemptEnded(attempt, outcomeOf(failure), null, failure);
				}
				if (unsure != null) {
					throw unsure;
				}
				throw ex;
			}
			finally {
				if (instance != null && this.instances != null) {
					this.instances.release(instance);
				}
			}
		}

		/**
		 * With a load balancer in the application: what this attempt tells it (through the request, which it
		 * keeps), so that the attempt goes to none of the instances the request failed on, and the instance
		 * it chose is known afterwards.
		 */
		private @Nullable InstanceAttempt nextInstanceAttempt() {
			if (this.instances == null) {
				return null;
			}
			InstanceAttempt instance = new InstanceAttempt();
			this.request.getAttributes().put(InstanceAttempt.ATTRIBUTE, instance);
			String avoid = InstanceAttempt.avoidHeader(this.failedOn);
			if (avoid != null) {
				this.request.getHeaders().set(InstanceAttempt.AVOID_HEADER, avoid);
			}
			this.lastInstance = instance;
			return instance;
		}

		private void instanceEnded(@Nullable InstanceAttempt instance, @Nullable Reason failure) {
			if (instance != null && this.instances != null && this.instances.ended(instance, failure)) {
				this.failedOn.add(java.util.Objects.requireNonNull(instance.instance()));
			}
		}

		@Override
		public boolean failedOnAnOutlier() {
			InstanceAttempt last = this.lastInstance;
			return this.instances != null && last != null && this.instances.failedOnAnOutlier(last);
		}

		@Override
		public boolean canFailOver() {
			InstanceAttempt last = this.lastInstance;
			if (this.instances == null || last == null
					|| !this.instances.canFailOver(last, this.failedOn, this.failovers)) {
				return false;
			}
			this.failovers++;
			return true;
		}

		@Override
		public @Nullable Failure failureOf(ClientHttpResponse response) {
			int status;
			try {
				status = response.getStatusCode().value();
			}
			catch (IOException ex) {
				return new Failure(Reason.SERVER_ERROR, null);
			}
			Reason reason = HttpFailureClassifier.reasonForStatus(status);
			if (reason == null) {
				return null;
			}
			Duration retryAfter = HttpFailureClassifier.parseRetryAfter(response.getHeaders().getFirst("Retry-After"),
					ResilientClientHttpRequestInterceptor.this.clock);
			return new Failure(reason, retryAfter);
		}

		private boolean bodyExpected(ClientHttpResponse response) {
			if (this.request.getMethod() == HttpMethod.HEAD) {
				return false;
			}
			try {
				int status = response.getStatusCode().value();
				return status >= 200 && status != 204 && status != 304;
			}
			catch (IOException ex) {
				return false;
			}
		}

		@Override
		public void discard(ClientHttpResponse response) {
			response.close();
		}

		@Override
		public boolean finishesAtHandOver() {
			// The call is finished when the caller has read or closed the body.
			return false;
		}

		@Override
		public ClientHttpResponse handOver(ClientHttpResponse response, @Nullable Failure failure,
				CallCompletion completion) {
			CallCompletion observedCompletion = (this.observed != null) ? this.observed.observing(completion) : completion;
			return new GuardedClientHttpResponse(this.service, response, failure, observedCompletion, this.deadlineNanos,
					bodyExpected(response));
		}

	}

}
