package uk.nhs.hee.tis.resilience.autoconfigure.loadbalancer;

import org.springframework.beans.BeansException;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.cloud.loadbalancer.core.ServiceInstanceListSupplier;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import uk.nhs.hee.tis.resilience.autoconfigure.internal.LoadBalancedInstances;

/**
 * The configuration every load-balanced service's own context gets (through
 * {@code @LoadBalancerClients(defaultConfiguration = …)}): whatever instance supplier the application or
 * Spring Cloud set up for the service (discovery, caching, health checks, zones) is wrapped, outermost, so
 * that ejected instances are skipped.
 */
@Configuration(proxyBeanMethods = false)
class OutlierEjectionClientConfiguration {

	@Bean
	static BeanPostProcessor tisOutlierEjectingSupplierPostProcessor(ObjectProvider<LoadBalancedInstances> instances) {
		return new BeanPostProcessor() {

			@Override
			public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
				LoadBalancedInstances available = instances.getIfAvailable();
				if (bean instanceof ServiceInstanceListSupplier supplier
						&& !(bean instanceof OutlierEjectingServiceInstanceListSupplier) && available != null) {
					return new OutlierEjectingServiceInstanceListSupplier(supplier, available);
				}
				return bean;
			}

		};
	}

}
