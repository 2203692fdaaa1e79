package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.Set;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.aop.support.AopUtils;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.util.ClassUtils;

import uk.nhs.hee.tis.resilience.annotation.Resilient;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

/**
 * Checks every bean's {@code @Fallback} and {@code @Resilient} declarations as it is created, so
 * that a fallback that does not fit, or a service nobody configured, stops startup instead of
 * surfacing at the first outage.
 */
final class AnnotatedBeanValidator implements BeanPostProcessor {

	private static final Log logger = LogFactory.getLog(AnnotatedBeanValidator.class);

	@SuppressWarnings("unchecked")
	private static final @Nullable Class<? extends Annotation> RETRYABLE = ClassUtils.isPresent(
			"org.springframework.resilience.annotation.Retryable", AnnotatedBeanValidator.class.getClassLoader())
					? (Class<? extends Annotation>) ClassUtils.resolveClassName(
							"org.springframework.resilience.annotation.Retryable",
							AnnotatedBeanValidator.class.getClassLoader())
					: null;

	private final FallbackMethods fallbackMethods;

	private final ObjectProvider<ServiceGuardRegistry> registry;

	AnnotatedBeanValidator(FallbackMethods fallbackMethods, ObjectProvider<ServiceGuardRegistry> registry) {
		this.fallbackMethods = fallbackMethods;
		this.registry = registry;
	}

	@Override
	public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
		Class<?> targetClass = AopUtils.getTargetClass(bean);
		if (targetClass.getName().startsWith("org.springframework.")) {
			return bean;
		}
		if (FallbackMethods.isAnnotated(targetClass)) {
			this.fallbackMethods.validate(targetClass);
			logStackedRetries(targetClass);
		}
		if (FallbackMethods.isAnnotated(targetClass, Resilient.class)) {
			for (Method method : FallbackMethods.candidateMethods(targetClass)) {
				Resilient resilient = ResilientMethodInterceptor.annotation(method, targetClass);
				if (resilient != null) {
					checkServiceIsConfigured(resilient, method);
				}
			}
		}
		return bean;
	}

	// Spring's @Retryable runs the whole method again, and every protected call inside it retries on its
	// own: the attempts multiply. Said once per method at startup, where a team reads it before an outage.
	private void logStackedRetries(Class<?> targetClass) {
		if (RETRYABLE == null || !FallbackMethods.isAnnotated(targetClass, RETRYABLE)) {
			return;
		}
		for (Method method : FallbackMethods.candidateMethods(targetClass)) {
			Annotation retryable = AnnotatedElementUtils.findMergedAnnotation(
					AopUtils.getMostSpecificMethod(method, targetClass), RETRYABLE);
			if (retryable == null) {
				retryable = AnnotatedElementUtils.findMergedAnnotation(targetClass, RETRYABLE);
			}
			if (retryable == null || FallbackMethods.annotation(method, targetClass) == null) {
				continue;
			}
			Resilient resilient = ResilientMethodInterceptor.annotation(method, targetClass);
			ServiceGuardRegistry guards = this.registry.getObject();
			int maxAttempts = (resilient != null && guards.configuredPolicies().containsKey(resilient.service()))
					? guards.configuredPolicies().get(resilient.service()).retry().maxAttempts()
					: guards.defaultPolicy().retry().maxAttempts();
			String service = (resilient != null) ? "service " + resilient.service() : "each service it calls";
			logger.warn("tis-resilience event=retries_stack method=" + FallbackMethods.describe(method)
					+ " reason=\"@Retryable runs the method again, and the starter already retries the calls to "
					+ service + " inside it (retry.max-attempts: " + maxAttempts + "): the attempts multiply. "
					+ "The fallback answers once both have given up. Keep one: retry.max-attempts: 1 for the service, "
					+ "or no @Retryable\"");
		}
	}

	private void checkServiceIsConfigured(Resilient resilient, Method method) {
		Map<String, ?> configured = this.registry.getObject().configuredPolicies();
		if (!configured.containsKey(resilient.service())) {
			Set<String> names = configured.keySet();
			throw new IllegalStateException("@Resilient(service = \"" + resilient.service() + "\") on "
					+ FallbackMethods.describe(method) + " names a service that is not configured: add "
					+ "tis.resilience.services." + resilient.service() + ".* (configured services: "
					+ (names.isEmpty() ? "none" : String.join(", ", names)) + ")");
		}
	}

}
