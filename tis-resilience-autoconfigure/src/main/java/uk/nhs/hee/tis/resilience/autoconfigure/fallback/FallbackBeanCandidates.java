package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import java.lang.reflect.Method;
import java.util.LinkedHashSet;
import java.util.Set;

import org.springframework.beans.BeansException;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.config.BeanFactoryPostProcessor;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.beans.factory.support.AbstractBeanDefinition;
import org.springframework.core.annotation.AnnotatedElementUtils;

import uk.nhs.hee.tis.resilience.annotation.Fallback;

/**
 * A fallback bean implements the interface it stands in for, so it would compete with the real
 * client wherever that interface is injected. This marks each bean named by a
 * {@code @Fallback(bean = …)} as not a default candidate: injection points get the client, and the
 * fallback bean is still reachable by its own type or name.
 */
final class FallbackBeanCandidates implements BeanFactoryPostProcessor {

	@Override
	public void postProcessBeanFactory(ConfigurableListableBeanFactory beanFactory) throws BeansException {
		Set<Class<?>> fallbackTypes = new LinkedHashSet<>();
		for (String name : beanFactory.getBeanDefinitionNames()) {
			Class<?> type = beanFactory.getType(name, false);
			if (type != null && type.isInterface()) {
				collectFallbackBeans(type, fallbackTypes);
			}
		}
		if (fallbackTypes.isEmpty()) {
			return;
		}
		for (String name : beanFactory.getBeanDefinitionNames()) {
			Class<?> type = beanFactory.getType(name, false);
			if (type != null && fallbackTypes.stream().anyMatch((fallback) -> fallback.isAssignableFrom(type))) {
				BeanDefinition definition = beanFactory.getBeanDefinition(name);
				if (definition instanceof AbstractBeanDefinition abstractDefinition) {
					abstractDefinition.setDefaultCandidate(false);
				}
			}
		}
	}

	private static void collectFallbackBeans(Class<?> type, Set<Class<?>> fallbackTypes) {
		Fallback onType = AnnotatedElementUtils.findMergedAnnotation(type, Fallback.class);
		if (onType != null && onType.bean() != void.class) {
			fallbackTypes.add(onType.bean());
		}
		for (Method method : type.getMethods()) {
			Fallback onMethod = AnnotatedElementUtils.findMergedAnnotation(method, Fallback.class);
			if (onMethod != null && onMethod.bean() != void.class) {
				fallbackTypes.add(onMethod.bean());
			}
		}
	}

}
