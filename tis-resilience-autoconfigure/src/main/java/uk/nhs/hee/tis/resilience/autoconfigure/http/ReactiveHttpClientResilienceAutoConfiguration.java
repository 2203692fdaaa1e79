package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.lang.reflect.Field;
import java.util.List;

import io.micrometer.observation.ObservationRegistry;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.http.client.autoconfigure.reactive.ClientHttpConnectorBuilderCustomizer;
import org.springframework.boot.http.client.reactive.ClientHttpConnectorBuilder;
import org.springframework.boot.webclient.WebClientCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.client.reactive.ClientHttpConnector;
import org.springframework.util.ReflectionUtils;
import org.springframework.web.reactive.function.client.ExchangeFilterFunction;
import org.springframework.web.reactive.function.client.WebClient;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceProperties;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.ConditionalOnSwitch;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.LoadBalancedInstances;
import uk.nhs.hee.tis.resilience.autoconfigure.token.ServiceTokenProvider;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Protects {@code WebClient}: Boot's {@code WebClient.Builder} (and so the HTTP service groups of
 * {@code @HttpExchange} interfaces on WebClient, which Boot builds with the same customizers) and every
 * {@code WebClient} bean get the guard filter, first in their chain, once. The filter shares each
 * service's guard with the blocking clients (decision record 0021).
 *
 * @since 0.2.0
 */
@AutoConfiguration(after = { TisResilienceAutoConfiguration.class, HttpClientResilienceAutoConfiguration.class },
		beforeName = "org.springframework.boot.webclient.autoconfigure.WebClientAutoConfiguration")
@ConditionalOnClass(WebClient.class)
@ConditionalOnBean(ServiceGuardRegistry.class)
@ConditionalOnSwitch("tis.resilience.enabled")
public final class ReactiveHttpClientResilienceAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	ServiceResolver tisServiceResolver(TisResilienceProperties properties) {
		return new ServiceResolver(properties.serviceUrls());
	}

	/** The startup report of unprotected clients, in a service without Boot's blocking clients too. */
	@Bean
	@ConditionalOnMissingBean
	UnprotectedEgressReport tisUnprotectedEgressReport(ListableBeanFactory beanFactory,
			ObjectProvider<PartlyProtectedClients> protectedClients) {
		return new UnprotectedEgressReport(beanFactory, protectedClients);
	}

	/**
	 * The guard filter. Each WebClient builder and bean gets its own copy of it ({@code forClient()}), sharing
	 * the guards and the stale-if-error copies: WebClient's copies are kept apart from the blocking clients',
	 * each within {@code stale-cache.max-size}.
	 */
	@Bean
	ResilientExchangeFilterFunction tisResilientExchangeFilterFunction(ServiceGuardRegistry registry,
			ServiceResolver resolver, TisResilienceProperties properties, ObjectProvider<ServiceTokenProvider> serviceTokens,
			ObjectProvider<LoadBalancedInstances> instances, ObjectProvider<ObservationRegistry> observations) {
		StaleResponseCache staleResponses = new StaleResponseCache(properties.staleCache().maxSize().toBytes(),
				properties.staleCache().maxBodySize().toBytes(), properties.servicesIgnoringNoStore(),
				properties.staleCache().headersNotInKey());
		return new ResilientExchangeFilterFunction(registry, resolver, serviceTokens, instances, observations,
				staleResponses);
	}

	/**
	 * Protects {@code WebClient}, {@code WebClient.Builder}, {@code ClientHttpConnector} and
	 * {@code ClientHttpConnectorBuilder} beans declared by hand ({@link ResilientWebClientBeanPostProcessor}).
	 */
	@Bean
	static ResilientWebClientBeanPostProcessor tisResilientWebClientBeanPostProcessor(
			ObjectProvider<ResilientExchangeFilterFunction> filter, ObjectProvider<ClientHttpConnector> connector) {
		return new ResilientWebClientBeanPostProcessor(filter, connector);
	}

	// Spring's builder keeps null until a connector (or an exchange function) is set, and creates its default
	// connector only when building.
	static void useBootsConnectorIfNone(WebClient.Builder builder, ObjectProvider<ClientHttpConnector> connector) {
		ClientHttpConnector boots = connector.getIfUnique();
		if (!(boots instanceof WireRecordingConnector) || fieldOf(builder, "connector") != null
				|| fieldOf(builder, "exchangeFunction") != null) {
			return;
		}
		builder.clientConnector(boots);
	}

	private static @Nullable Object fieldOf(WebClient.Builder builder, String name) {
		Field field = ReflectionUtils.findField(builder.getClass(), name);
		if (field == null) {
			// Not Spring's builder: leave it as it is.
			return builder;
		}
		ReflectionUtils.makeAccessible(field);
		return ReflectionUtils.getField(field, builder);
	}

	static void addFirst(List<ExchangeFilterFunction> filters, ResilientExchangeFilterFunction filter) {
		if (filters.stream().noneMatch(ResilientExchangeFilterFunction.class::isInstance)) {
			filters.add(0, filter.forClient());
		}
	}

	/**
	 * Every connector Boot builds for a WebClient (Boot's {@code WebClient.Builder}, HTTP service groups,
	 * {@code WebClientSsl}) records each request as it goes on the wire, for the stale-if-error key
	 * (decision 0023). Applied last, so that the application's own customizers of a specific builder type
	 * still see it.
	 */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(name = "org.springframework.boot.http.client.autoconfigure.reactive.ClientHttpConnectorBuilderCustomizer")
	static class WireRecordingConfiguration {

		@Bean
		@Order(Ordered.LOWEST_PRECEDENCE)
		ClientHttpConnectorBuilderCustomizer<ClientHttpConnectorBuilder<?>> tisWireRecordingConnectorCustomizer() {
			return ResilientWebClientBeanPostProcessor.RecordingConnectorBuilder::new;
		}

	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(WebClientCustomizer.class)
	static class BootWebClientConfiguration {

		@Bean
		WebClientCustomizer tisResilienceWebClientCustomizer(ResilientExchangeFilterFunction filter) {
			return (builder) -> builder.filters((filters) -> addFirst(filters, filter));
		}

	}

}
