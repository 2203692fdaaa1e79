package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

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
 */
final class WireRecordingConnector implements ClientHttpConnector {

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

	private final ClientHttpConnector delegate;

	WireRecordingConnector(ClientHttpConnector delegate) {
		this.delegate = delegate;
	}

	ClientHttpConnector delegate() {
		return this.delegate;
	}

	@Override
	public Mono<ClientHttpResponse> connect(HttpMethod method, URI uri,
			Function<? super ClientHttpRequest, Mono<Void>> requestCallback) {
		return Mono.deferContextual((context) -> {
			if (!context.hasKey(PROBE)) {
				return this.delegate.connect(method, uri, (request) -> {
					recordAtCommit(request);
					return requestCallback.apply(request);
				});
			}
			ProbeRequest probe = new ProbeRequest(method, uri);
			recordAtCommit(probe);
			return requestCallback.apply(probe).then(Mono.error(ProbeComplete::new));
		});
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
	private static void recordAtCommit(ClientHttpRequest request) {
		Map<String, List<String>> libraryDefaults = new HashMap<>();
		request.getHeaders().forEach((name, values) -> libraryDefaults.put(name.toLowerCase(Locale.ROOT), List.copyOf(values)));
		request.beforeCommit(() -> {
			boolean probe = request instanceof ProbeRequest || request.getAttributes().containsKey(PROBE_ATTRIBUTE);
			if (request.getAttributes().get(ATTRIBUTE) instanceof Record record) {
				record.record(request, libraryDefaults, probe);
			}
			// A probe that reached a real request (a filter lost its context) ends here, before anything is written.
			return (probe && !(request instanceof ProbeRequest)) ? Mono.error(new ProbeComplete()) : Mono.empty();
		});
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
