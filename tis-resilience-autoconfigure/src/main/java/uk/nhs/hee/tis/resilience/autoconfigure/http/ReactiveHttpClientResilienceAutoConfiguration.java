package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.List;

import io.micrometer.observation.ObservationRegistry;

import org.springframework.beans.BeansException;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.webclient.WebClientCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
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
			ObjectProvider<ResilientHttpClientBeanPostProcessor> protectedClients) {
		return new UnprotectedEgressReport(beanFactory, protectedClients);
	}

	@Bean
	ResilientExchangeFilterFunction tisResilientExchangeFilterFunction(ServiceGuardRegistry registry,
			ServiceResolver resolver, ObjectProvider<ServiceTokenProvider> serviceTokens,
			ObjectProvider<LoadBalancedInstances> instances, ObjectProvider<ObservationRegistry> observations) {
		return new ResilientExchangeFilterFunction(registry, resolver, serviceTokens, instances, observations);
	}

	@Bean
	static BeanPostProcessor tisResilientWebClientBeanPostProcessor(
			ObjectProvider<ResilientExchangeFilterFunction> filter) {
		return new BeanPostProcessor() {

			@Override
			public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
				if (bean instanceof WebClient client) {
					return client.mutate().filters((filters) -> addFirst(filters, filter.getObject())).build();
				}
				if (bean instanceof WebClient.Builder builder) {
					builder.filters((filters) -> addFirst(filters, filter.getObject()));
				}
				return bean;
			}

		};
	}

	static void addFirst(List<ExchangeFilterFunction> filters, ResilientExchangeFilterFunction filter) {
		if (filters.stream().noneMatch(ResilientExchangeFilterFunction.class::isInstance)) {
			filters.add(0, filter);
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
