package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.springframework.boot.http.client.ClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.HttpClientSettings;
import org.springframework.http.HttpMethod;
import org.springframework.http.client.ClientHttpRequest;
import org.springframework.http.client.ClientHttpRequestFactory;

import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;
import uk.nhs.hee.tis.resilience.policy.ServicePolicy;

/**
 * Sends each request through a request factory built with the connect and response timeouts of the
 * request's service, on top of the application's other HTTP client settings (SSL bundle,
 * redirects). Factories are shared by every service with the same pair of timeouts, so there are
 * only a handful. Each request records its final headers for the stale-if-error cache
 * ({@link WireRequest}).
 */
final class ServiceClientHttpRequestFactory implements ClientHttpRequestFactory {

	private final ServiceGuardRegistry registry;

	private final ServiceResolver resolver;

	private final ClientHttpRequestFactoryBuilder<?> delegate;

	private final HttpClientSettings baseSettings;

	private final Map<Timeouts, ClientHttpRequestFactory> factories = new ConcurrentHashMap<>();

	ServiceClientHttpRequestFactory(ServiceGuardRegistry registry, ServiceResolver resolver,
			ClientHttpRequestFactoryBuilder<?> delegate, HttpClientSettings baseSettings) {
		this.registry = registry;
		this.resolver = resolver;
		this.delegate = delegate;
		this.baseSettings = baseSettings;
	}

	@Override
	public ClientHttpRequest createRequest(URI uri, HttpMethod httpMethod) throws IOException {
		if (WireRequest.isProbe(uri)) {
			return WireRequest.probe(uri, httpMethod);
		}
		ServicePolicy policy = this.registry.guard(this.resolver.resolve(uri)).policy();
		Timeouts timeouts = new Timeouts(policy.connectTimeout(), policy.responseTimeout());
		return WireRequest.recording(
				this.factories.computeIfAbsent(timeouts, this::createFactory).createRequest(uri, httpMethod));
	}

	private ClientHttpRequestFactory createFactory(Timeouts timeouts) {
		return this.delegate.build(this.baseSettings.withTimeouts(timeouts.connect(), timeouts.response()));
	}

	private record Timeouts(Duration connect, Duration response) {
	}

}
