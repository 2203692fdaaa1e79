package uk.nhs.hee.tis.resilience.autoconfigure.http;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.http.client.ClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.HttpClientSettings;
import org.springframework.http.client.ClientHttpRequestFactory;

import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Wraps the application's {@link ClientHttpRequestFactoryBuilder} so that every factory it builds
 * (for {@code RestClient.Builder}, {@code RestTemplateBuilder}, each HTTP service client group, and
 * the {@code ClientHttpRequestFactory} bean) applies each service's timeouts per request.
 */
final class ServiceClientHttpRequestFactoryBuilder implements ClientHttpRequestFactoryBuilder<ClientHttpRequestFactory> {

	private final ClientHttpRequestFactoryBuilder<?> delegate;

	private final ServiceGuardRegistry registry;

	private final ServiceResolver resolver;

	ServiceClientHttpRequestFactoryBuilder(ClientHttpRequestFactoryBuilder<?> delegate, ServiceGuardRegistry registry,
			ServiceResolver resolver) {
		this.delegate = delegate;
		this.registry = registry;
		this.resolver = resolver;
	}

	@Override
	public ClientHttpRequestFactory build(@Nullable HttpClientSettings settings) {
		return new ServiceClientHttpRequestFactory(this.registry, this.resolver, this.delegate,
				(settings != null) ? settings : HttpClientSettings.defaults());
	}

	ClientHttpRequestFactoryBuilder<?> delegate() {
		return this.delegate;
	}

}
