package uk.nhs.hee.tis.resilience.autoconfigure.loadbalancer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.util.ClassUtils;

/**
 * Names at startup, in one WARN line, Spring Cloud LoadBalancer's own retry when it is on: it retries
 * inside each of the guard's attempts, outside the retry budget and the deadline's accounting, so one
 * call can reach the service up to {@code max-attempts × (1 + its retries)} times. It is on for
 * {@code RestTemplate} and {@code RestClient} when Spring Retry is on the class path (unless
 * {@code spring.cloud.loadbalancer.retry.enabled=false}), and for {@code WebClient} when that property
 * is {@code true}. The starter does not switch it off: the application set it up; it is told.
 */
final class LoadBalancerOwnRetryReport implements SmartInitializingSingleton {

	private static final Log logger = LogFactory.getLog(LoadBalancerOwnRetryReport.class);

	/** The retrying parts of Spring Cloud LoadBalancer, by class name, with the clients they serve. */
	private static final Map<String, String> RETRYING = Map.of(
			"org.springframework.cloud.client.loadbalancer.RetryLoadBalancerInterceptor", "RestTemplate/RestClient",
			"org.springframework.cloud.client.loadbalancer.reactive.RetryableLoadBalancerExchangeFilterFunction",
			"WebClient");

	private final ListableBeanFactory beanFactory;

	LoadBalancerOwnRetryReport(ListableBeanFactory beanFactory) {
		this.beanFactory = beanFactory;
	}

	@Override
	public void afterSingletonsInstantiated() {
		List<String> clients = new ArrayList<>();
		RETRYING.forEach((type, client) -> {
			ClassLoader classLoader = getClass().getClassLoader();
			if (ClassUtils.isPresent(type, classLoader) && this.beanFactory
				.getBeanNamesForType(ClassUtils.resolveClassName(type, classLoader), true, false).length > 0) {
				clients.add(client);
			}
		});
		if (!clients.isEmpty()) {
			clients.sort(null);
			logger.warn("tis-resilience event=load_balancer_retry_on clients=" + clients + " reason=\"Spring Cloud "
					+ "LoadBalancer's own retry is on: it retries inside each of the starter's attempts, outside the "
					+ "retry budget, so one call can reach a service more often than max-attempts says; set "
					+ "spring.cloud.loadbalancer.retry.enabled=false and let tis.resilience retry (a retry already goes "
					+ "to another instance)\"");
		}
	}

}
