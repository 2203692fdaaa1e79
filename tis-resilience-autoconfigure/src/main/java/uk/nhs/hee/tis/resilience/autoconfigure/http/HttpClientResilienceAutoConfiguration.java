package uk.nhs.hee.tis.resilience.autoconfigure.http;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.http.client.HttpClientSettings;
import org.springframework.boot.restclient.RestClientCustomizer;
import org.springframework.boot.restclient.RestTemplateCustomizer;
import org.springframework.boot.restclient.autoconfigure.RestClientAutoConfiguration;
import org.springframework.boot.restclient.autoconfigure.RestTemplateAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceProperties;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Protects Spring's blocking HTTP clients. {@code RestClient.Builder} (and so the HTTP service
 * client groups of {@code @HttpExchange} interfaces) and {@code RestTemplateBuilder} get the guard
 * interceptor and a request factory with each service's timeouts; {@code RestClient},
 * {@code RestTemplate} and {@code RestClient.Builder} beans built without Boot's builders get the
 * interceptor too.
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = TisResilienceAutoConfiguration.class,
		before = { RestClientAutoConfiguration.class, RestTemplateAutoConfiguration.class },
		afterName = "org.springframework.boot.http.client.autoconfigure.HttpClientAutoConfiguration")
@ConditionalOnClass({ RestClient.class, RestClientCustomizer.class })
@ConditionalOnBean(ServiceGuardRegistry.class)
@ConditionalOnBooleanProperty(name = "tis.resilience.enabled", matchIfMissing = true)
public final class HttpClientResilienceAutoConfiguration {

	@Bean
	static ResilientHttpClientBeanPostProcessor tisResilientHttpClientBeanPostProcessor(
			ObjectProvider<ResilientHttpClients> clients) {
		return new ResilientHttpClientBeanPostProcessor(clients);
	}

	@Bean
	ResilientHttpClients tisResilientHttpClients(ServiceGuardRegistry registry, TisResilienceProperties properties,
			ObjectProvider<HttpClientSettings> settings) {
		ServiceResolver resolver = new ServiceResolver(properties.serviceUrls());
		return new ResilientHttpClients(new ResilientClientHttpRequestInterceptor(registry, resolver),
				new ServiceClientHttpRequestFactory(registry, resolver,
						settings.getIfAvailable(HttpClientSettings::defaults)));
	}

	@Bean
	RestClientCustomizer tisResilienceRestClientCustomizer(ResilientHttpClients clients) {
		return clients::protect;
	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(RestTemplate.class)
	static class RestTemplateConfiguration {

		@Bean
		RestTemplateCustomizer tisResilienceRestTemplateCustomizer(ResilientHttpClients clients) {
			return clients::protect;
		}

	}

}
