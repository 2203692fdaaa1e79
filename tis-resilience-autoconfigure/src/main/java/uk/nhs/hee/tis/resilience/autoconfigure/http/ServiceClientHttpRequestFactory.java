package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.http.client.ClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.HttpClientSettings;
import org.springframework.boot.http.client.HttpRedirects;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.StreamingHttpOutputMessage;
import org.springframework.http.client.ClientHttpRequest;
import org.springframework.http.client.ClientHttpRequestFactory;
import org.springframework.http.client.ClientHttpResponse;
import org.springframework.util.FastByteArrayOutputStream;

import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;
import uk.nhs.hee.tis.resilience.policy.ServicePolicy;

/**
 * Sends each request through a request factory built with the connect and response timeouts of the
 * request's service (the one the guard resolved from its logical URL, before any load balancer's rewrite),
 * on top of the application's other HTTP client settings (SSL bundle, redirects). Factories are shared by
 * every service with the same timeouts, so there are only a handful. Each request records its final
 * headers for the stale-if-error cache ({@link WireRequest}).
 * <p>
 * A request the guard may not send again (a {@code POST} or {@code PATCH} without an
 * {@code Idempotency-Key}) is sent to its first server by a client that does not follow redirects, and a
 * redirect it gets is followed here ({@link FirstRedirect}): a client following it by itself fails the
 * same way whether the first server or the redirect's target refused the connection, and only the first
 * is a request never sent (decision record 0027).
 */
final class ServiceClientHttpRequestFactory implements ClientHttpRequestFactory {

	private final ServiceGuardRegistry registry;

	private final ServiceResolver resolver;

	private final ClientHttpRequestFactoryBuilder<?> delegate;

	private final HttpClientSettings baseSettings;

	private final Map<Settings, ClientHttpRequestFactory> factories;

	private final boolean buffersResponses;

	ServiceClientHttpRequestFactory(ServiceGuardRegistry registry, ServiceResolver resolver,
			ClientHttpRequestFactoryBuilder<?> delegate, HttpClientSettings baseSettings) {
		this(registry, resolver, delegate, baseSettings, new ConcurrentHashMap<>(), false);
	}

	private ServiceClientHttpRequestFactory(ServiceGuardRegistry registry, ServiceResolver resolver,
			ClientHttpRequestFactoryBuilder<?> delegate, HttpClientSettings baseSettings,
			Map<Settings, ClientHttpRequestFactory> factories, boolean buffersResponses) {
		this.registry = registry;
		this.resolver = resolver;
		this.delegate = delegate;
		this.baseSettings = baseSettings;
		this.factories = factories;
		this.buffersResponses = buffersResponses;
	}

	/**
	 * The same factory, sharing its clients, whose responses can be read more than once: what Spring's
	 * {@code BufferingClientHttpRequestFactory} gives a {@code RestTemplate}, which the starter puts in its
	 * place. Spring's wrapper does not pass a request's attributes on to the factory under it, and they say
	 * which call of which service a request is.
	 * @return a factory that buffers each response body in memory
	 */
	ServiceClientHttpRequestFactory bufferingResponses() {
		return new ServiceClientHttpRequestFactory(this.registry, this.resolver, this.delegate, this.baseSettings,
				this.factories, true);
	}

	@Override
	public ClientHttpRequest createRequest(URI uri, HttpMethod httpMethod) throws IOException {
		if (WireRequest.isProbe(uri)) {
			return WireRequest.probe(uri, httpMethod);
		}
		return new ServiceBoundRequest(uri, httpMethod);
	}

	/**
	 * The request factory for a service's timeouts. The service is the one the guard resolved from the
	 * request's logical URL, which travels in the request's attributes ({@link WireRequest#service()}): a
	 * load balancer in front has rewritten the URL to an instance's {@code host:port} by now. Without it (a
	 * client the guard interceptor is not on), the service is resolved from the URL.
	 */
	ClientHttpRequestFactory factoryFor(URI uri, Map<String, Object> attributes, boolean followsRedirects) {
		String service = (attributes.get(WireRequest.ATTRIBUTE) instanceof WireRequest wire) ? wire.service() : null;
		ServicePolicy policy = this.registry.guard((service != null) ? service : this.resolver.resolve(uri)).policy();
		Settings settings = new Settings(policy.connectTimeout(), policy.responseTimeout(), followsRedirects);
		return this.factories.computeIfAbsent(settings, this::createFactory);
	}

	private ClientHttpRequestFactory createFactory(Settings settings) {
		HttpClientSettings built = this.baseSettings.withTimeouts(settings.connect(), settings.response());
		return this.delegate.build(settings.followsRedirects() ? built : built.withRedirects(HttpRedirects.DONT_FOLLOW));
	}

	/** Whether the application's clients follow redirects (Boot's default does, where the client can). */
	private boolean followsRedirects() {
		return this.baseSettings.redirects() != HttpRedirects.DONT_FOLLOW;
	}

	/**
	 * Whether a request is sent to its first server alone, and its redirect followed here: a request the
	 * guard may not send again, on clients that follow redirects.
	 */
	private boolean firstHopAlone(Map<String, Object> attributes) {
		return attributes.get(WireRequest.ATTRIBUTE) instanceof WireRequest wire && !wire.idempotent()
				&& followsRedirects();
	}

	private record Settings(Duration connect, Duration response, boolean followsRedirects) {
	}

	/**
	 * A body written from bytes kept in memory, which can be written again: a client following a 307 or 308
	 * sends it again (Apache HttpClient follows no redirect of a request whose body cannot be).
	 */
	static StreamingHttpOutputMessage.Body repeatable(FastByteArrayOutputStream bytes) {
		return new StreamingHttpOutputMessage.Body() {

			@Override
			public void writeTo(OutputStream outputStream) throws IOException {
				bytes.writeTo(outputStream);
			}

			@Override
			public boolean repeatable() {
				return true;
			}

		};
	}

	static void writeBody(ClientHttpRequest request, StreamingHttpOutputMessage.@Nullable Body body) throws IOException {
		if (body == null) {
			return;
		}
		if (request instanceof StreamingHttpOutputMessage streaming) {
			streaming.setBody(body);
		}
		else {
			body.writeTo(request.getBody());
		}
	}

	/**
	 * A request whose client is chosen when it is executed: Spring copies a request's attributes onto it only
	 * after creating it, and the attributes say which service it belongs to. Headers and attributes are
	 * copied onto the client's request then; a streamed body is handed over as it is, a written one copied
	 * once.
	 */
	private final class ServiceBoundRequest implements ClientHttpRequest, StreamingHttpOutputMessage {

		private final URI uri;

		private final HttpMethod method;

		private final HttpHeaders headers = new HttpHeaders();

		private final Map<String, Object> attributes = new LinkedHashMap<>();

		private @Nullable FastByteArrayOutputStream written;

		private @Nullable Body streamed;

		ServiceBoundRequest(URI uri, HttpMethod method) {
			this.uri = uri;
			this.method = method;
		}

		@Override
		public ClientHttpResponse execute() throws IOException {
			boolean firstHopAlone = firstHopAlone(this.attributes);
			ClientHttpRequestFactory client = factoryFor(this.uri, this.attributes, !firstHopAlone);
			ClientHttpRequest request = client.createRequest(this.uri, this.method);
			request.getHeaders().putAll(this.headers);
			request.getAttributes().putAll(this.attributes);
			Body body = this.streamed;
			if (firstHopAlone && body != null && !body.repeatable()) {
				// A 307 or 308 sends the body again: one that can be written once only is kept for it.
				FastByteArrayOutputStream kept = new FastByteArrayOutputStream();
				body.writeTo(kept);
				body = repeatable(kept);
			}
			FastByteArrayOutputStream written = this.written;
			if (body == null && written != null && written.size() > 0) {
				body = repeatable(written);
			}
			writeBody(request, body);
			ClientHttpResponse response = WireRequest.recording(request).execute();
			if (firstHopAlone) {
				response = FirstRedirect.follow(ServiceClientHttpRequestFactory.this, request, body, response);
			}
			WireRequest wire = (WireRequest) this.attributes.get(WireRequest.ATTRIBUTE);
			if (wire != null) {
				response = DeadlineBoundResponse.bind(response, wire.attemptDeadlineNanos(), client);
			}
			return ServiceClientHttpRequestFactory.this.buffersResponses ? new RereadableResponse(response) : response;
		}

		@Override
		public void setBody(Body body) {
			this.streamed = body;
		}

		@Override
		public OutputStream getBody() {
			if (this.written == null) {
				this.written = new FastByteArrayOutputStream();
			}
			return this.written;
		}

		@Override
		public HttpHeaders getHeaders() {
			return this.headers;
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
		public Map<String, Object> getAttributes() {
			return this.attributes;
		}

	}

}
