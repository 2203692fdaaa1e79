package uk.nhs.hee.tis.resilience.autoconfigure.loadbalancer;

import io.micrometer.core.instrument.MeterRegistry;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.cloud.client.loadbalancer.LoadBalancerRequestTransformer;
import org.springframework.cloud.loadbalancer.annotation.LoadBalancerClients;
import org.springframework.cloud.loadbalancer.core.ServiceInstanceListSupplier;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceProperties;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.ConditionalOnSwitch;
import uk.nhs.hee.tis.resilience.autoconfigure.internal.LoadBalancedInstances;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Per-instance outlier ejection and failover for services load-balanced with Spring Cloud LoadBalancer
 * (decision record 0022): every service's instance supplier skips ejected instances and the instances a
 * request already failed on; the load balancer tells the guard which instance it chose; the guard
 * records each attempt's outcome per instance. The service's identity, policy and single breaker come
 * from the logical URL ({@code http://profile/...}), never from the instance the URL is rewritten to.
 *
 * @since 0.3.0
 */
@AutoConfiguration(after = TisResilienceAutoConfiguration.class)
@ConditionalOnClass({ ServiceInstanceListSupplier.class, LoadBalancerRequestTransformer.class })
@ConditionalOnBean(ServiceGuardRegistry.class)
@ConditionalOnSwitch("tis.resilience.enabled")
@LoadBalancerClients(defaultConfiguration = OutlierEjectionClientConfiguration.class)
public final class LoadBalancerResilienceAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	LoadBalancedInstances tisLoadBalancedInstances(ServiceGuardRegistry registry, TisResilienceProperties properties,
			ObjectProvider<MeterRegistry> meters) {
		InstanceEjectionReport report = new InstanceEjectionReport(meters);
		ServiceIds serviceIds = new ServiceIds(properties.serviceUrls());
		return new LoadBalancedInstances((serviceId) -> {
			String service = serviceIds.serviceFor(serviceId);
			return (service != null) ? registry.guard(service).policy() : registry.defaultPolicy();
		}, report, report::detectorCreated);
	}

	@Bean
	static LoadBalancerOwnRetryReport tisLoadBalancerOwnRetryReport(ListableBeanFactory beanFactory) {
		return new LoadBalancerOwnRetryReport(beanFactory);
	}

	@Bean
	LoadBalancerRequestTransformer tisInstanceChoiceTransformer(LoadBalancedInstances instances) {
		return new InstanceChoiceTransformers.Blocking(instances);
	}

	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(name = "org.springframework.web.reactive.function.client.ClientRequest")
	static class ReactiveConfiguration {

		@Bean
		org.springframework.cloud.client.loadbalancer.reactive.LoadBalancerClientRequestTransformer tisReactiveInstanceChoiceTransformer(
				LoadBalancedInstances instances) {
			return new InstanceChoiceTransformers.Reactive(instances);
		}

	}

}
