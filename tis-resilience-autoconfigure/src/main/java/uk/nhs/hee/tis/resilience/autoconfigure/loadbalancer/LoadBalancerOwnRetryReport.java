package uk.nhs.hee.tis.resilience.autoconfigure.loadbalancer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.cloud.client.loadbalancer.LoadBalanced;
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

	/**
	 * The retrying parts of Spring Cloud LoadBalancer, by class name, with the clients they serve: the name
	 * shown, then the client types whose {@code @LoadBalanced} beans they apply to.
	 */
	private static final Map<String, List<String>> RETRYING = Map.of(
			"org.springframework.cloud.client.loadbalancer.RetryLoadBalancerInterceptor",
			List.of("RestTemplate/RestClient", "org.springframework.web.client.RestTemplate",
					"org.springframework.web.client.RestClient$Builder"),
			"org.springframework.cloud.client.loadbalancer.reactive.RetryableLoadBalancerExchangeFilterFunction",
			List.of("WebClient", "org.springframework.web.reactive.function.client.WebClient$Builder"));

	private final ListableBeanFactory beanFactory;

	LoadBalancerOwnRetryReport(ListableBeanFactory beanFactory) {
		this.beanFactory = beanFactory;
	}

	private boolean present(String type) {
		ClassLoader classLoader = getClass().getClassLoader();
		return ClassUtils.isPresent(type, classLoader) && this.beanFactory
			.getBeanNamesForType(ClassUtils.resolveClassName(type, classLoader), true, false).length > 0;
	}

	// Spring Cloud's retry applies only to the clients marked @LoadBalanced.
	private boolean hasLoadBalancedBean(String clientType) {
		ClassLoader classLoader = getClass().getClassLoader();
		if (!ClassUtils.isPresent(clientType, classLoader)) {
			return false;
		}
		for (String name : this.beanFactory.getBeanNamesForType(ClassUtils.resolveClassName(clientType, classLoader), true,
				false)) {
			if (this.beanFactory.findAnnotationOnBean(name, LoadBalanced.class) != null) {
				return true;
			}
		}
		return false;
	}

	@Override
	public void afterSingletonsInstantiated() {
		List<String> clients = new ArrayList<>();
		RETRYING.forEach((type, served) -> {
			if (present(type) && served.stream().skip(1).anyMatch(this::hasLoadBalancedBean)) {
				clients.add(served.get(0));
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
