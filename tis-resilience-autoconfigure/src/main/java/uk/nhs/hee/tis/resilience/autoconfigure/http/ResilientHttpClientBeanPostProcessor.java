package uk.nhs.hee.tis.resilience.autoconfigure.http;

import org.springframework.beans.BeansException;
import org.springframework.beans.factory.ObjectProvider;
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
final class ResilientHttpClientBeanPostProcessor extends PartlyProtectedClients {

	private final ObjectProvider<ResilientHttpClients> clients;

	private final ObjectProvider<ServiceGuardRegistry> registry;

	private final ObjectProvider<ServiceResolver> resolver;

	ResilientHttpClientBeanPostProcessor(ObjectProvider<ResilientHttpClients> clients,
			ObjectProvider<ServiceGuardRegistry> registry, ObjectProvider<ServiceResolver> resolver) {
		this.clients = clients;
		this.registry = registry;
		this.resolver = resolver;
	}

	@Override
	public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
		if (bean instanceof RestTemplate restTemplate) {
			String noDeadline = this.clients.getObject().addInterceptor(restTemplate);
			if (noDeadline != null) {
				leftAsItIs(beanName, "RestTemplate: breaker, bulkhead and retries, but no deadline: "
						+ noDeadline + "; build it from RestTemplateBuilder or leave its request factory to Boot");
			}
		}
		else if (bean instanceof RestClient.Builder builder) {
			this.clients.getObject().protectBuilderBean(builder);
		}
		else if (bean instanceof ClientHttpRequestFactoryBuilder<?> builder
				&& !(builder instanceof ServiceClientHttpRequestFactoryBuilder)) {
			ResolvableType declared = declaredUnlessReplaceableBy(beanName, ServiceClientHttpRequestFactoryBuilder.class);
			if (declared != null) {
				// Declared as its own type, it may be injected as that type: replacing it would break the
				// application. It is named at startup instead.
				leftAsItIs(beanName, PartlyProtectedClients.shortName(declared) + " bean: clients from Boot's builders "
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
