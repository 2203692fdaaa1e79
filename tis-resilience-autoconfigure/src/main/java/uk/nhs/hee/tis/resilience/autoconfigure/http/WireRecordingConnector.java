package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.net.ConnectException;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.function.Function;

import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Exceptions;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

import org.springframework.context.Lifecycle;
import org.springframework.context.SmartLifecycle;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferFactory;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.core.io.buffer.DefaultDataBufferFactory;
import org.springframework.http.HttpCookie;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.client.reactive.AbstractClientHttpRequest;
import org.springframework.http.client.reactive.ClientHttpConnector;
import org.springframework.http.client.reactive.ClientHttpRequest;
import org.springframework.http.client.reactive.ClientHttpResponse;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;

import uk.nhs.hee.tis.resilience.http.HttpFailureClassifier;
import uk.nhs.hee.tis.resilience.http.RequestSentException;

/**
 * A WebClient's connector that records each request as it goes on the wire, below every filter: its URI
 * and the headers and cookies the filters put on it, for the stale-if-error key (decision records 0015
 * and 0023). Headers the HTTP library sets by itself before any filter's request is written ({@code Host},
 * {@code User-Agent}, Reactor Netty's {@code Accept: *}{@code /*}) are the same for every caller and left
 * out unless a filter changed them.
 * <p>
 * It also answers a <em>probe</em> without any I/O: a request subscribed with {@link #PROBE} in its Reactor
 * context is written to a request that goes nowhere, so that the starter learns what a request would carry
 * while the service's breaker is open, without opening a connection to the failing service. The request
 * itself is left as it is, so every filter sees the probe exactly as it would see the real request (a
 * filter choosing a token by path, rewriting the URL or prefixing a gateway path does the same to both).
 * <p>
 * And it bounds the wait for a connection by the service's {@code connect-timeout}, which the starter's
 * filter puts in each attempt's Reactor context ({@link Attempt}): Boot's connector is shared by every
 * service, so its own connect timeout cannot be one service's. Past it, the attempt fails with a
 * {@link ConnectException} (nothing was sent: safe to send again, to another instance). Reactor Netty hands
 * a request over once it has a connection; a connector that hands it over before connecting (the JDK's,
 * Jetty's) keeps Boot's own connect timeout only, and while it follows redirects its connect failures
 * cannot be told from a redirect target's: the filter then sends no request that may not be sent again
 * (decision record 0027).
 */
final class WireRecordingConnector implements ClientHttpConnector, SmartLifecycle {

	/** The request attribute holding the {@link Record} a request's headers are written to. */
	static final String ATTRIBUTE = WireRecordingConnector.class.getName() + ".record";

	/**
	 * The Reactor context key marking a probe. Every connection asked for under it, the probe's own and any
	 * a filter makes meanwhile through a connector like this one, is answered without I/O.
	 */
	static final String PROBE = WireRecordingConnector.class.getName() + ".probe";

	/**
	 * The request attribute marking a probe, for when a filter lost the Reactor context on the way: the
	 * connector then connects as for any request, but ends the probe before a byte of the request is
	 * written (no request reaches the service; at most a pooled connection is taken, or a new one opened).
	 */
	static final String PROBE_ATTRIBUTE = PROBE;

	private static final int CONNECTING = 0;

	private static final int CONNECTED = 1;

	private static final int TIMED_OUT = 2;

	private final ClientHttpConnector delegate;

	/**
	 * Whether the wrapped connector hands a request over only once it has a connection (Reactor Netty's): then a
	 * connect failure after the hand-over is a later connection's. The JDK's, Jetty's and Apache's hand it over
	 * first, and connect after.
	 */
	private final boolean handsOverOnceConnected;

	/**
	 * Whether a connect failure is known to be the first server's: with Reactor Netty's connector (a later
	 * connection's failure is a {@link RequestSentException}), or with one that follows no redirects.
	 */
	private final boolean tellsTheFirstServersFailure;

	/**
	 * @param delegate the connector Boot or the application built
	 * @param followsRedirects whether it may follow redirects (when not known, say so)
	 */
	WireRecordingConnector(ClientHttpConnector delegate, boolean followsRedirects) {
		this.delegate = delegate;
		this.handsOverOnceConnected = delegate instanceof ReactorClientHttpConnector;
		this.tellsTheFirstServersFailure = this.handsOverOnceConnected || !followsRedirects;
	}

	ClientHttpConnector delegate() {
		return this.delegate;
	}

	// The connector it wraps keeps its lifecycle (Reactor Netty's starts and stops its resources with the context).

	@Override
	public void start() {
		if (this.delegate instanceof Lifecycle lifecycle) {
			lifecycle.start();
		}
	}

	@Override
	public void stop() {
		if (this.delegate instanceof Lifecycle lifecycle) {
			lifecycle.stop();
		}
	}

	@Override
	public void stop(Runnable callback) {
		if (this.delegate instanceof SmartLifecycle lifecycle) {
			lifecycle.stop(callback);
			return;
		}
		stop();
		callback.run();
	}

	@Override
	public boolean isRunning() {
		return this.delegate instanceof Lifecycle lifecycle && lifecycle.isRunning();
	}

	@Override
	public boolean isAutoStartup() {
		return this.delegate instanceof SmartLifecycle lifecycle && lifecycle.isAutoStartup();
	}

	@Override
	public int getPhase() {
		return (this.delegate instanceof SmartLifecycle lifecycle) ? lifecycle.getPhase() : SmartLifecycle.DEFAULT_PHASE;
	}

	@Override
	public Mono<ClientHttpResponse> connect(HttpMethod method, URI uri,
			Function<? super ClientHttpRequest, Mono<Void>> requestCallback) {
		return Connection.of(this, method, uri, requestCallback);
	}

	private Mono<ClientHttpResponse> probe(HttpMethod method, URI uri,
			Function<? super ClientHttpRequest, Mono<Void>> requestCallback) {
		ProbeRequest probe = new ProbeRequest(method, uri);
		recordAtCommit(probe, Map.of());
		return requestCallback.apply(probe).then(Mono.error(ProbeComplete::new));
	}

	/**
	 * One connection asked of the wrapped connector. What it needs to know (a probe, the attempt's
	 * connect-timeout) is in the subscriber's Reactor context, read when it is subscribed to. One operator,
	 * {@link Watch}, does what Reactor's {@code deferContextual}, {@code timeout}, {@code onErrorMap} and
	 * {@code doFinally} did here, which cost about 0.6 µs and 0.9 KB a call (docs/performance.md).
	 */
	private static final class Connection extends Mono<ClientHttpResponse> {

		private final WireRecordingConnector connector;

		private final HttpMethod method;

		private final URI uri;

		private final Function<? super ClientHttpRequest, Mono<Void>> requestCallback;

		static Mono<ClientHttpResponse> of(WireRecordingConnector connector, HttpMethod method, URI uri,
				Function<? super ClientHttpRequest, Mono<Void>> requestCallback) {
			return onAssembly(new Connection(connector, method, uri, requestCallback));
		}

		private Connection(WireRecordingConnector connector, HttpMethod method, URI uri,
				Function<? super ClientHttpRequest, Mono<Void>> requestCallback) {
			this.connector = connector;
			this.method = method;
			this.uri = uri;
			this.requestCallback = requestCallback;
		}

		@Override
		public void subscribe(CoreSubscriber<? super ClientHttpResponse> actual) {
			Context context = actual.currentContext();
			Mono<ClientHttpResponse> response;
			Watch watch;
			try {
				if (context.hasKey(PROBE)) {
					response = this.connector.probe(this.method, this.uri, this.requestCallback);
					response.subscribe(actual);
					return;
				}
				Attempt attempt = context.getOrDefault(Attempt.KEY, null);
				if (attempt != null && !attempt.seen) {
					attempt.seen = true;
					attempt.tellsTheFirstServersFailure = this.connector.tellsTheFirstServersFailure;
				}
				watch = new Watch(actual, this.connector.handsOverOnceConnected, this.uri, attempt, this.requestCallback);
				response = Objects.requireNonNull(this.connector.delegate.connect(this.method, this.uri, watch),
						"the connector returned no response");
			}
			catch (Throwable ex) {
				Exceptions.throwIfFatal(ex);
				Operators.error(actual, Operators.onOperatorError(ex, context));
				return;
			}
			response.subscribe(watch);
		}

	}

	/**
	 * Watches one connection until the connector hands the request over to be written, which Reactor Netty
	 * does once it has a connection (a pooled one, or a new one): until then, nothing was sent. With an
	 * attempt of a protected call, the wait is bounded by the service's connect-timeout, on the shared
	 * {@link DeadlineWatch} (no timer per call). The hand-over and the deadline race for one state, so a
	 * request is either written or failed as never sent, never both; and only one of the connector's end and
	 * the deadline's reaches the subscriber.
	 * <p>
	 * Once the request was handed over, a connect failure on Reactor Netty's connector is a later connection's
	 * (a redirect it followed, or its own second try): the first server may have the request, so the failure
	 * becomes a {@link RequestSentException}, and a POST is not sent again. Other connectors hand a request
	 * over before connecting, so they cannot tell: see {@link Attempt#tellsTheFirstServersFailure()}.
	 */
	private static final class Watch implements CoreSubscriber<ClientHttpResponse>, Subscription, Runnable,
			Function<ClientHttpRequest, Mono<Void>> {

		private static final AtomicIntegerFieldUpdater<Watch> STATE = AtomicIntegerFieldUpdater.newUpdater(Watch.class,
				"state");

		/** Ended by the connector before a connection was had. */
		private static final int ENDED = 3;

		/** Cancelled by the subscriber before a connection was had. */
		private static final int CANCELLED = 4;

		private final CoreSubscriber<? super ClientHttpResponse> actual;

		private final boolean handsOverOnceConnected;

		private final URI uri;

		private final @Nullable Attempt attempt;

		private final Function<? super ClientHttpRequest, Mono<Void>> requestCallback;

		private volatile int state = CONNECTING;

		private volatile DeadlineWatch.@Nullable Deadline deadline;

		private volatile @Nullable Subscription upstream;

		Watch(CoreSubscriber<? super ClientHttpResponse> actual, boolean handsOverOnceConnected, URI uri,
				@Nullable Attempt attempt, Function<? super ClientHttpRequest, Mono<Void>> requestCallback) {
			this.actual = actual;
			this.handsOverOnceConnected = handsOverOnceConnected;
			this.uri = uri;
			this.attempt = attempt;
			this.requestCallback = requestCallback;
		}

		@Override
		public Context currentContext() {
			return this.actual.currentContext();
		}

		@Override
		public void onSubscribe(Subscription subscription) {
			if (Operators.validate(this.upstream, subscription)) {
				this.upstream = subscription;
				this.actual.onSubscribe(this);
				Attempt attempt = this.attempt;
				if (attempt != null && this.state == CONNECTING) {
					DeadlineWatch.Deadline deadline = DeadlineWatch.shared()
						.watch(System.nanoTime() + attempt.connectTimeout().toNanos(), this);
					this.deadline = deadline;
					if (this.state != CONNECTING) {
						deadline.done();
					}
				}
			}
		}

		/** The connector hands the request over: connected (Reactor Netty hands it over again for a redirect). */
		@Override
		public Mono<Void> apply(ClientHttpRequest request) {
			stopWatching();
			if (this.state != CONNECTED && !STATE.compareAndSet(this, CONNECTING, CONNECTED)) {
				return Mono.error((this.state == TIMED_OUT) ? notConnected()
						: new CancellationException("the call was given up before the request was written"));
			}
			// Without an attempt (not a call of a protected service, or a filter lost the context: a probe, maybe)
			// the library's own headers are noted in case the request turns out to be recorded. The hook also ends
			// a probe that lost its context before anything is written.
			Attempt attempt = this.attempt;
			recordAtCommit(request, (attempt == null || attempt.records()) ? libraryDefaults(request) : Map.of());
			return this.requestCallback.apply(request);
		}

		/** The connect-timeout passed, on Reactor's parallel scheduler. */
		@Override
		public void run() {
			if (STATE.compareAndSet(this, CONNECTING, TIMED_OUT)) {
				Subscription upstream = this.upstream;
				if (upstream != null) {
					upstream.cancel();
				}
				this.actual.onError(notConnected());
			}
		}

		@Override
		public void onNext(ClientHttpResponse response) {
			stopWatching();
			// A connector that answers without handing a request over (a stub) answers the race too.
			if (this.state != CONNECTED && !STATE.compareAndSet(this, CONNECTING, CONNECTED)) {
				response.getBody().subscribe(DataBufferUtils::release);
				return;
			}
			this.actual.onNext(response);
		}

		@Override
		public void onError(Throwable failure) {
			stopWatching();
			if (STATE.compareAndSet(this, CONNECTING, ENDED)) {
				this.actual.onError(failure);
				return;
			}
			int state = this.state;
			if (state == TIMED_OUT || state == CANCELLED) {
				// The subscriber has had the connect-timeout's failure, or has gone: this is the connection given up on.
				return;
			}
			// Handed over: a connect failure now is a later connection's, on Reactor Netty.
			this.actual.onError((this.handsOverOnceConnected && HttpFailureClassifier.neverConnected(failure))
					? new RequestSentException("the request was sent to " + this.uri + "; a connection after it failed",
							failure)
					: failure);
		}

		@Override
		public void onComplete() {
			stopWatching();
			if (STATE.compareAndSet(this, CONNECTING, ENDED) || this.state == CONNECTED) {
				this.actual.onComplete();
			}
		}

		@Override
		public void request(long n) {
			Subscription upstream = this.upstream;
			if (upstream != null) {
				upstream.request(n);
			}
		}

		@Override
		public void cancel() {
			stopWatching();
			STATE.compareAndSet(this, CONNECTING, CANCELLED);
			Subscription upstream = this.upstream;
			if (upstream != null) {
				upstream.cancel();
			}
		}

		private void stopWatching() {
			DeadlineWatch.Deadline deadline = this.deadline;
			if (deadline != null) {
				deadline.done();
			}
		}

		private ConnectException notConnected() {
			Attempt attempt = this.attempt;
			return WireRecordingConnector.notConnected(this.uri, (attempt != null) ? attempt.connectTimeout() : Duration.ZERO);
		}

	}

	private static ConnectException notConnected(URI uri, Duration connectTimeout) {
		return new ConnectException("no connection to " + uri.getHost() + ((uri.getPort() != -1) ? ":" + uri.getPort() : "")
				+ " within the service's connect-timeout (" + connectTimeout.toMillis() + " ms)");
	}

	/** Whether a failure is a probe's end at a connector like this one: nothing was sent. */
	static boolean isProbeComplete(Throwable failure) {
		for (Throwable t = failure; t != null; t = (t.getCause() != t) ? t.getCause() : null) {
			if (t instanceof ProbeComplete) {
				return true;
			}
		}
		return false;
	}

	// The library's own headers are those on the request before the filters' request is written to it.
	private static Map<String, List<String>> libraryDefaults(ClientHttpRequest request) {
		Map<String, List<String>> libraryDefaults = new HashMap<>();
		request.getHeaders().forEach((name, values) -> libraryDefaults.put(name.toLowerCase(Locale.ROOT), List.copyOf(values)));
		return libraryDefaults;
	}

	private static void recordAtCommit(ClientHttpRequest request, Map<String, List<String>> libraryDefaults) {
		request.beforeCommit(() -> {
			boolean probe = request instanceof ProbeRequest || request.getAttributes().containsKey(PROBE_ATTRIBUTE);
			if (request.getAttributes().get(ATTRIBUTE) instanceof Record record) {
				record.record(request, libraryDefaults, probe);
			}
			// A probe that reached a real request (a filter lost its context) ends here, before anything is written.
			return (probe && !(request instanceof ProbeRequest)) ? Mono.error(new ProbeComplete()) : Mono.empty();
		});
	}

	/**
	 * What the starter's filter tells the connector about one call's attempts, in their Reactor context: how
	 * long each may wait for a connection, and whether its request is recorded (a GET of a service with
	 * {@code stale-if-error}; only then are the library's own headers noted before the request is written).
	 * The connector marks it seen, so the filter learns whether its client sends through a connector like this.
	 */
	static final class Attempt {

		static final String KEY = Attempt.class.getName();

		private final Duration connectTimeout;

		private final boolean records;

		private volatile boolean seen;

		private volatile boolean tellsTheFirstServersFailure;

		/**
		 * @param connectTimeout the service's {@code connect-timeout}
		 * @param records whether the request is recorded for a stale copy's key
		 */
		Attempt(Duration connectTimeout, boolean records) {
			this.connectTimeout = connectTimeout;
			this.records = records;
		}

		Duration connectTimeout() {
			return this.connectTimeout;
		}

		boolean records() {
			return this.records;
		}

		/** Whether a connector like this one took an attempt of the call. */
		boolean seen() {
			return this.seen;
		}

		/**
		 * Whether a connect failure of the call is known to be its first server's, and so of a request never
		 * sent: false when no connector like this one took it, or when the one that did hands the request over
		 * before connecting (the JDK's, Jetty's, Apache's) and may follow a redirect, whose target's refusal
		 * reads the same.
		 */
		boolean tellsTheFirstServersFailure() {
			return this.seen && this.tellsTheFirstServersFailure;
		}

	}

	/** What one call's latest request carried on the wire; written by the connector, read by the filter. */
	static final class Record {

		private volatile @Nullable URI uri;

		private volatile @Nullable HttpHeaders headers;

		private volatile boolean probed;

		/** The URI as sent, or null when nothing was recorded. */
		@Nullable URI uri() {
			return this.uri;
		}

		/** The headers as sent, cookies included, or null when nothing was recorded. */
		@Nullable HttpHeaders headers() {
			return this.headers;
		}

		void clear() {
			this.uri = null;
			this.headers = null;
			this.probed = false;
		}

		/** Whether what was recorded came from a probe that this connector ended, sending nothing. */
		boolean probed() {
			return this.probed;
		}

		private void record(ClientHttpRequest request, Map<String, List<String>> libraryDefaults, boolean probe) {
			HttpHeaders sent = new HttpHeaders();
			request.getHeaders().forEach((name, values) -> {
				if (!values.equals(libraryDefaults.get(name.toLowerCase(Locale.ROOT)))) {
					sent.addAll(name, values);
				}
			});
			request.getCookies().forEach((name, cookies) -> {
				for (HttpCookie cookie : cookies) {
					sent.add(HttpHeaders.COOKIE, cookie.getName() + "=" + cookie.getValue());
				}
			});
			this.headers = sent;
			this.uri = request.getURI();
			this.probed = probe;
		}

	}

	/** The end of a probe: its request was written and recorded, and nothing was sent. */
	static final class ProbeComplete extends RuntimeException {

		ProbeComplete() {
			super("probe recorded; nothing was sent", null, false, false);
		}

	}

	/** A request that records what is written to it and sends nothing. */
	private static final class ProbeRequest extends AbstractClientHttpRequest {

		private final HttpMethod method;

		private final URI uri;

		private final DataBufferFactory bufferFactory = DefaultDataBufferFactory.sharedInstance;

		ProbeRequest(HttpMethod method, URI uri) {
			this.method = method;
			this.uri = uri;
		}

		@Override
		public HttpMethod getMethod() {
			return this.method;
		}

		@Override
		public URI getURI() {
			return this.uri;
		}

		@Override
		public DataBufferFactory bufferFactory() {
			return this.bufferFactory;
		}

		@Override
		public <T> T getNativeRequest() {
			throw new UnsupportedOperationException("a probe has no native request");
		}

		@Override
		public Mono<Void> writeWith(Publisher<? extends DataBuffer> body) {
			return doCommit(() -> Flux.from(body).doOnNext(DataBufferUtils::release).then());
		}

		@Override
		public Mono<Void> writeAndFlushWith(Publisher<? extends Publisher<? extends DataBuffer>> body) {
			return writeWith(Flux.from(body).flatMap((part) -> part));
		}

		@Override
		public Mono<Void> setComplete() {
			return doCommit();
		}

		@Override
		protected void applyHeaders() {
		}

		@Override
		protected void applyCookies() {
		}

	}

}
