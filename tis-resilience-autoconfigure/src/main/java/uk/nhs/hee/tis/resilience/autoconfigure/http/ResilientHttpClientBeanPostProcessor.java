package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.BeansException;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.BeanFactoryAware;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.http.client.ClientHttpRequestFactoryBuilder;
import org.springframework.core.ResolvableType;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;

import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Protects {@code RestClient}, {@code RestClient.Builder} and {@code RestTemplate} beans that a
 * user built without Boot's builders, so that no client bean the starter can see bypasses the
 * guard. Clients built from Boot's builders already carry the interceptor and are left alone.
 * <p>
 * An application's own {@code ClientHttpRequestFactoryBuilder} bean replaces Boot's, which is the only
 * one Boot's customizers (the starter's among them) are applied to; it is wrapped here instead, so
 * that each service's timeouts still reach every client built from Boot's builders. The client it
 * builds is kept: the application chose it.
 */
final class ResilientHttpClientBeanPostProcessor implements BeanPostProcessor, BeanFactoryAware, PartlyProtectedClients {

	private final ObjectProvider<ResilientHttpClients> clients;

	private final ObjectProvider<ServiceGuardRegistry> registry;

	private final ObjectProvider<ServiceResolver> resolver;

	private final Map<String, String> withoutDeadline = new ConcurrentHashMap<>();

	private @Nullable ConfigurableListableBeanFactory beanFactory;

	ResilientHttpClientBeanPostProcessor(ObjectProvider<ResilientHttpClients> clients,
			ObjectProvider<ServiceGuardRegistry> registry, ObjectProvider<ServiceResolver> resolver) {
		this.clients = clients;
		this.registry = registry;
		this.resolver = resolver;
	}

	@Override
	public void setBeanFactory(BeanFactory beanFactory) {
		if (beanFactory instanceof ConfigurableListableBeanFactory listable) {
			this.beanFactory = listable;
		}
	}

	/** The client beans whose calls get no deadline, by name, each described with why and what to do. */
	@Override
	public Map<String, String> partlyProtected() {
		return Map.copyOf(this.withoutDeadline);
	}

	@Override
	public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
		if (bean instanceof RestTemplate restTemplate) {
			String noDeadline = this.clients.getObject().addInterceptor(restTemplate);
			if (noDeadline != null) {
				this.withoutDeadline.put(beanName, "RestTemplate: breaker, bulkhead and retries, but no deadline: "
						+ noDeadline + "; build it from RestTemplateBuilder or leave its request factory to Boot");
			}
		}
		else if (bean instanceof RestClient.Builder builder) {
			this.clients.getObject().protectBuilderBean(builder);
		}
		else if (bean instanceof ClientHttpRequestFactoryBuilder<?> builder
				&& !(builder instanceof ServiceClientHttpRequestFactoryBuilder)) {
			ResolvableType declared = PartlyProtectedClients.declaredType(this.beanFactory, beanName);
			if (declared != null && !PartlyProtectedClients.mayReplace(declared, ServiceClientHttpRequestFactoryBuilder.class)) {
				// Declared as its own type, it may be injected as that type: replacing it would break the
				// application. It is named at startup instead.
				this.withoutDeadline.put(beanName, PartlyProtectedClients.shortName(declared) + " bean: clients from Boot's builders "
						+ "get breaker, bulkhead and retries, but no deadline; declare the bean as "
						+ "ClientHttpRequestFactoryBuilder<?> so that the starter can wrap it");
				return bean;
			}
			return new ServiceClientHttpRequestFactoryBuilder(ClientOwnRetries.switchedOff(builder),
					this.registry.getObject(), this.resolver.getObject());
		}
		else if (bean instanceof RestClient restClient) {
			RestClient.Builder builder = restClient.mutate();
			if (this.clients.getObject().addInterceptor(builder)) {
				return builder.build();
			}
		}
		return bean;
	}

}
