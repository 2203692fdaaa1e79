package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.concurrent.atomic.AtomicBoolean;

import io.micrometer.observation.ObservationRegistry;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.http.client.ClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.JdkClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.SimpleClientHttpRequestFactoryBuilder;
import org.springframework.boot.http.client.autoconfigure.ClientHttpRequestFactoryBuilderCustomizer;
import org.springframework.boot.restclient.RestClientCustomizer;
import org.springframework.boot.thread.Threading;
import org.springframework.boot.restclient.RestTemplateCustomizer;
import org.springframework.boot.restclient.autoconfigure.RestClientAutoConfiguration;
import org.springframework.boot.restclient.autoconfigure.RestTemplateAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.env.Environment;
import org.springframework.core.task.VirtualThreadTaskExecutor;
import org.springframework.http.client.ClientHttpRequestFactory;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceProperties;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.LoadBalancedInstances;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.ConditionalOnSwitch;
import uk.nhs.hee.tis.resilience.autoconfigure.token.ServiceTokenProvider;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Protects Spring's blocking HTTP clients. Boot's {@code ClientHttpRequestFactoryBuilder} is
 * wrapped so that every request factory Boot builds applies each service's timeouts;
 * {@code RestClient.Builder} (and so the HTTP service client groups of {@code @HttpExchange}
 * interfaces) and {@code RestTemplateBuilder} get the guard interceptor; {@code RestClient},
 * {@code RestTemplate} and {@code RestClient.Builder} beans built without Boot's builders get the
 * interceptor too.
 *
 * @since 0.1.0
 */
@AutoConfiguration(after = TisResilienceAutoConfiguration.class,
		before = { RestClientAutoConfiguration.class, RestTemplateAutoConfiguration.class },
		beforeName = "org.springframework.boot.http.client.autoconfigure.imperative.ImperativeHttpClientAutoConfiguration")
@ConditionalOnClass({ RestClient.class, RestClientCustomizer.class, ClientHttpRequestFactoryBuilder.class })
@ConditionalOnBean(ServiceGuardRegistry.class)
@ConditionalOnSwitch("tis.resilience.enabled")
public final class HttpClientResilienceAutoConfiguration {

	private static final Log logger = LogFactory.getLog(HttpClientResilienceAutoConfiguration.class);

	static final String FACTORY_PROPERTY = "spring.http.clients.imperative.factory";

	@Bean
	static ResilientHttpClientBeanPostProcessor tisResilientHttpClientBeanPostProcessor(
			ObjectProvider<ResilientHttpClients> clients, ObjectProvider<ServiceGuardRegistry> registry,
			ObjectProvider<ServiceResolver> resolver) {
		return new ResilientHttpClientBeanPostProcessor(clients, registry, resolver);
	}

	@Bean
	UnprotectedEgressReport tisUnprotectedEgressReport(org.springframework.beans.factory.ListableBeanFactory beanFactory,
			ObjectProvider<PartlyProtectedClients> protectedClients) {
		return new UnprotectedEgressReport(beanFactory, protectedClients);
	}

	@Bean
	ServiceResolver tisServiceResolver(TisResilienceProperties properties) {
		return new ServiceResolver(properties.serviceUrls());
	}

	@Bean
	ResilientHttpClients tisResilientHttpClients(ServiceGuardRegistry registry, ServiceResolver resolver,
			TisResilienceProperties properties, ObjectProvider<ClientHttpRequestFactory> requestFactory,
			ObjectProvider<ServiceTokenProvider> serviceTokens, ObjectProvider<ObservationRegistry> observations,
			ObjectProvider<LoadBalancedInstances> instances) {
		StaleResponseCache staleResponses = new StaleResponseCache(properties.staleCache().maxSize().toBytes(),
				properties.staleCache().maxBodySize().toBytes(), properties.servicesIgnoringNoStore(),
				properties.staleCache().headersNotInKey());
		return new ResilientHttpClients(
				new ResilientClientHttpRequestInterceptor(registry, resolver, staleResponses, serviceTokens,
						observations, instances),
				requestFactory);
	}

	/**
	 * The bodies a chosen client bounds per read only, which the starter cannot cut at the deadline (decision
	 * 0029): all of them on Spring's simple client; a compressed body, and the body of a redirect the client
	 * follows itself, on Apache HttpClient; the latter on Reactor Netty. Null for the JDK's and Jetty's clients.
	 */
	static @Nullable String bodiesBoundedPerRead(ClientHttpRequestFactoryBuilder<?> builder) {
		String name = builder.getClass().getSimpleName();
		if (builder instanceof SimpleClientHttpRequestFactoryBuilder) {
			return "client=simple bodies=all";
		}
		if (name.equals("HttpComponentsClientHttpRequestFactoryBuilder")) {
			return "client=http-components bodies=\"compressed (Content-Encoding), and a redirect's own\"";
		}
		if (name.equals("ReactorClientHttpRequestFactoryBuilder")) {
			return "client=reactor bodies=\"a redirect's own\"";
		}
		return null;
	}

	/**
	 * Applies each service's timeouts to every request factory Boot builds. Unless the application
	 * chose a client with {@value #FACTORY_PROPERTY}, the JDK client is used: its read timeout is
	 * the only one that bounds the whole exchange, body included (see decision record 0003).
	 */
	@Bean
	@Order(Ordered.LOWEST_PRECEDENCE)
	ClientHttpRequestFactoryBuilderCustomizer<ClientHttpRequestFactoryBuilder<?>> tisResilienceRequestFactoryBuilderCustomizer(
			ServiceGuardRegistry registry, ServiceResolver resolver, Environment environment) {
		boolean chosen = environment.containsProperty(FACTORY_PROPERTY);
		AtomicBoolean named = new AtomicBoolean();
		return (builder) -> {
			ClientHttpRequestFactoryBuilder<?> delegate = builder;
			String perRead = bodiesBoundedPerRead(builder);
			if (chosen && perRead != null && named.compareAndSet(false, true)) {
				// What the starter cannot cut at the deadline on the client the application chose (decision 0029).
				logger.warn("tis-resilience event=deadline_per_read " + perRead
						+ ": bounded per read, not by the service's response-timeout, so such a body that dribbles can "
						+ "outlive the deadline; the jdk client (the starter's default) or jetty bound them all");
			}
			if (!chosen && !(builder instanceof JdkClientHttpRequestFactoryBuilder)) {
				logger.info("tis-resilience sends HTTP requests with the JDK HttpClient, whose deadline covers the "
						+ "response body; set " + FACTORY_PROPERTY + " to choose another client");
				JdkClientHttpRequestFactoryBuilder jdk = ClientHttpRequestFactoryBuilder.jdk();
				// As Boot configures the JDK client it detects itself: virtual threads when they are on.
				delegate = Threading.VIRTUAL.isActive(environment)
						? jdk.withExecutor(new VirtualThreadTaskExecutor("httpclient-")) : jdk;
			}
			return new ServiceClientHttpRequestFactoryBuilder(ClientOwnRetries.switchedOff(delegate), registry, resolver);
		};
	}

	@Bean
	RestClientCustomizer tisResilienceRestClientCustomizer(ResilientHttpClients clients) {
		return clients::addInterceptor;
	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(RestTemplate.class)
	static class RestTemplateConfiguration {

		@Bean
		RestTemplateCustomizer tisResilienceRestTemplateCustomizer(ResilientHttpClients clients) {
			return clients::addInterceptor;
		}

	}

}
