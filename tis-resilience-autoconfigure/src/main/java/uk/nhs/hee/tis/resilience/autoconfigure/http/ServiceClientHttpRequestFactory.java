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

import uk.nhs.hee.tis.resilience.policy.ServicePolicy;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Sends each request through a JDK {@code HttpClient} configured with the connect and response
 * timeouts of the request's service. Spring's JDK request factory enforces its read timeout over the
 * whole exchange, body included, with one shared timer rather than a thread per call; that is why
 * the starter uses it (see docs/decisions/0003-deadline-on-the-jdk-client.md). Factories are shared
 * by every service with the same pair of timeouts, so there are only a handful.
 */
final class ServiceClientHttpRequestFactory implements ClientHttpRequestFactory {

	private final ServiceGuardRegistry registry;

	private final ServiceResolver resolver;

	private final HttpClientSettings baseSettings;

	private final Map<Timeouts, ClientHttpRequestFactory> factories = new ConcurrentHashMap<>();

	ServiceClientHttpRequestFactory(ServiceGuardRegistry registry, ServiceResolver resolver,
			HttpClientSettings baseSettings) {
		this.registry = registry;
		this.resolver = resolver;
		this.baseSettings = baseSettings;
	}

	@Override
	public ClientHttpRequest createRequest(URI uri, HttpMethod httpMethod) throws IOException {
		ServicePolicy policy = this.registry.guard(this.resolver.resolve(uri)).policy();
		Timeouts timeouts = new Timeouts(policy.connectTimeout(), policy.responseTimeout());
		return this.factories.computeIfAbsent(timeouts, this::createFactory).createRequest(uri, httpMethod);
	}

	private ClientHttpRequestFactory createFactory(Timeouts timeouts) {
		return ClientHttpRequestFactoryBuilder.jdk()
			.build(this.baseSettings.withTimeouts(timeouts.connect(), timeouts.response()));
	}

	private record Timeouts(Duration connect, Duration response) {
	}

}
